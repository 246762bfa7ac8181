"""Just enough of a POSIX shell lexer to know the quoting context at a point in a script.

Used to rewrite `{{ name }}` placeholders in shell scripts into references to environment
variables that are correct where they stand. It tracks '...', "...", $'...', backslash escapes,
comments (`#` at the start of a word), $( ... ) and `...` command substitutions (whose insides
are code again, even within double quotes) and arithmetic $(( ... )) / (( ... )).

Not understood (documented limits): here-documents (a placeholder in a heredoc body is treated
by the quotes the body happens to contain), `case` patterns with an unbalanced `)` inside
$( ... ), and zsh/bash extensions beyond the above. Whatever the lexer gets wrong, a placeholder
only ever becomes quote characters and `${NAME}`: the value itself is never part of the script,
so a misjudged context can cause word splitting but never runs the value as code.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Context(StrEnum):
    """Where a placeholder stands, as far as quoting goes."""

    BARE = "bare"  # unquoted code
    DOUBLE = "double"  # inside "..."
    SINGLE = "single"  # inside '...'
    ANSI = "ansi"  # inside $'...'
    COMMENT = "comment"
    ARITHMETIC = "arithmetic"  # inside $(( )) or (( )): the value would be evaluated
    ESCAPED = "escaped"  # right after a backslash that would escape what we insert
    AFTER_DOLLAR = "after_dollar"  # right after `$`, which would join what we insert


_CODE, _SUBST, _TICK, _ARITH = "code", "subst", "tick", "arith"
_SQ, _DQ, _ANSI, _COMMENT = "sq", "dq", "ansi", "comment"
_BREAKS = frozenset(" \t\n;&|()<>")
_CODE_PLAIN = re.compile(r"[^\\'\"$()`#\s;&|<>]+")
_PLAIN = {
    _CODE: _CODE_PLAIN,
    _SUBST: _CODE_PLAIN,
    _TICK: _CODE_PLAIN,
    _ARITH: _CODE_PLAIN,
    _DQ: re.compile(r'[^\\"`$]+'),
    _ANSI: re.compile(r"[^\\']+"),
}
_CONTEXT = {
    _CODE: Context.BARE,
    _SUBST: Context.BARE,
    _TICK: Context.BARE,
    _ARITH: Context.ARITHMETIC,
    _SQ: Context.SINGLE,
    _DQ: Context.DOUBLE,
    _ANSI: Context.ANSI,
    _COMMENT: Context.COMMENT,
}


class ShellLexer:
    """Feed a script piece by piece; `context()` tells the quoting state after what was fed."""

    def __init__(self) -> None:
        self._kinds = [_CODE]
        self._depths = [0]  # open parentheses inside $( ) and $(( ))
        self._word_start = True
        self._escaped = False
        self._last = ""

    def context(self) -> Context:
        """The context of a placeholder inserted right after the text fed so far."""
        kind = self._kinds[-1]
        if self._escaped:
            return Context.ESCAPED
        if self._last == "$" and kind in (_CODE, _SUBST, _TICK, _DQ):
            return Context.AFTER_DOLLAR
        return _CONTEXT[kind]

    def skip_placeholder(self) -> None:
        """Account for a placeholder (a piece of a word) at the current point."""
        self._word_start = False
        self._last = "}"

    def feed(self, text: str) -> None:
        """Advance over `text`."""
        i, end = 0, len(text)
        self._escaped = False
        while i < end:
            i = self._step(text, i, end)
        if text:
            self._last = text[-1]

    def _push(self, kind: str, depth: int = 0) -> None:
        self._kinds.append(kind)
        self._depths.append(depth)

    def _pop(self) -> None:
        if len(self._kinds) > 1:
            self._kinds.pop()
            self._depths.pop()

    def _step(self, text: str, i: int, end: int) -> int:
        kind = self._kinds[-1]
        if kind in (_SQ, _COMMENT):  # only the closing character matters
            close = text.find("'" if kind == _SQ else "\n", i)
            if close < 0:
                return end
            self._pop()
            self._word_start = kind == _COMMENT
            return close + 1
        plain = _PLAIN[kind].match(text, i)  # skip ordinary characters at C speed
        if plain is not None:
            self._word_start = False
            return plain.end()
        ch = text[i]
        if ch == "\\":
            self._escaped = i + 1 >= end
            self._word_start = False
            return i + 2
        if kind == _ANSI:
            self._pop()  # the only other special character in $'...' is its closing quote
            return i + 1
        if kind == _DQ:
            return self._step_double(text, i, ch)
        return self._step_code(text, i, ch, kind)

    def _step_double(self, text: str, i: int, ch: str) -> int:
        if ch == '"':
            self._pop()
        elif ch == "`":
            self._push(_TICK)
        elif text.startswith("$((", i):
            self._push(_ARITH, 1)
            return i + 3
        elif text.startswith("$(", i):
            self._push(_SUBST)
            self._word_start = True
            return i + 2
        return i + 1

    def _step_code(self, text: str, i: int, ch: str, kind: str) -> int:
        word_start, self._word_start = self._word_start, ch in _BREAKS
        if ch == "#" and word_start and kind != _ARITH:
            self._push(_COMMENT)
        elif ch == "'":
            self._push(_SQ)
        elif ch == '"':
            self._push(_DQ)
        elif text.startswith("$'", i):
            self._push(_ANSI)
            return i + 2
        elif text.startswith("$((", i) or (word_start and text.startswith("((", i)):
            self._push(_ARITH, 1)
            return i + (3 if ch == "$" else 2)
        elif text.startswith("$(", i):
            self._push(_SUBST)
            self._word_start = True
            return i + 2
        elif ch == "`":
            if kind == _TICK:
                self._pop()
            else:
                self._push(_TICK)
                self._word_start = True
        elif ch == "(" and kind in (_SUBST, _ARITH):
            self._depths[-1] += 1
        elif ch == ")" and kind in (_SUBST, _ARITH):
            if self._depths[-1]:
                self._depths[-1] -= 1
            else:
                self._pop()
        return i + 1

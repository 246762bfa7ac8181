"""Placeholders: their grammar, and safe substitution of values into task specs.

A placeholder is `{{ name }}`: a declared variable (`app_dir`), a built-in (`run.id`,
`run.trigger`, `workflow.name`) or an upstream task's result (`tasks.ID.outputs.KEY`,
`tasks.ID.exit_code`, `tasks.ID.stdout`). There are no expressions or filters.

Values reach a task in one of two ways. In ordinary text fields the value is spliced in
literally (those fields become argv elements, URLs, paths: no shell ever reads them). In
shell-script fields (metadata `SHELL_FIELD`) the value never enters the script: the placeholder
becomes a reference to an environment variable that carries the value, quoted for where it
stands, so `rm -rf {{ dir }}` becomes `rm -rf "${BARBOSSA_VAR_dir}"`. A script that then
`eval`s the variable or uses it in arithmetic can still be made to run code, as with any
shell variable; rendering itself never can.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from barbossad.definitions.shell_lexer import Context, ShellLexer
from barbossad.errors import TaskError

BUILTINS = frozenset({"run.id", "run.trigger", "workflow.name"})

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.S)
_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)\s*\Z")
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")

_TEMPLATES = {
    Context.BARE: '"${%s}"',  # quoted: no word splitting or globbing
    Context.DOUBLE: "${%s}",
    Context.SINGLE: "'\"${%s}\"'",  # close the quote, insert, reopen
    Context.ANSI: "'\"${%s}\"$'",
    Context.COMMENT: "${%s}",
}
_PROBLEMS = {
    Context.ARITHMETIC: "is inside $(( )) or (( )), where its value would be evaluated as code; "
    "assign it to a variable and check it first",
    Context.ESCAPED: "follows a backslash, which would escape the quoting; remove the backslash",
    Context.AFTER_DOLLAR: "follows '$', which would join it into another expansion; "
    "put a space or quote between them",
}


class RenderError(TaskError):
    """A placeholder could not be rendered (no value, or it stands where no value is safe)."""


class Placeholder(NamedTuple):
    """One `{{ ... }}` in a text: where it is and the name it refers to (None if malformed)."""

    start: int
    end: int
    name: str | None
    raw: str


@dataclass(frozen=True, slots=True)
class RenderedShell:
    """A shell script whose placeholders were replaced by `${VAR}`, and the values of VAR."""

    script: str
    env: dict[str, str]


def scan(text: str) -> list[Placeholder]:
    """Every `{{ ... }}` in `text`, in order."""
    if "{{" not in text:
        return []
    found = []
    for match in _PLACEHOLDER.finditer(text):
        name = _NAME.match(match.group(1))
        found.append(
            Placeholder(match.start(), match.end(), name.group(1) if name else None, match.group())
        )
    return found


def referenced_names(text: str) -> set[str]:
    """The names of the well-formed placeholders in `text`."""
    return {p.name for p in scan(text) if p.name is not None}


def shell_problems(text: str) -> list[str]:
    """Why placeholders in shell script `text` cannot be rendered safely (empty if they can)."""
    problems = []
    for placeholder, context in _contexts(text):
        if context in _PROBLEMS:
            problems.append(f"placeholder {placeholder.raw!r} {_PROBLEMS[context]}")
    return problems


def _contexts(text: str) -> Iterator[tuple[Placeholder, Context]]:
    lexer = ShellLexer()
    position = 0
    for placeholder in scan(text):
        lexer.feed(text[position : placeholder.start])
        yield placeholder, lexer.context()
        lexer.skip_placeholder()
        position = placeholder.end


def _value(placeholder: Placeholder, values: Mapping[str, str]) -> str:
    if placeholder.name is None:
        raise RenderError(f"{placeholder.raw!r} is not a valid placeholder")
    try:
        return values[placeholder.name]  # indexing, so a mapping's __missing__ may answer
    except KeyError:
        raise RenderError(f"no value for {placeholder.raw!r}") from None


def render_text(text: str, values: Mapping[str, str]) -> str:
    """`text` with every placeholder replaced by its value, literally."""
    placeholders = scan(text)
    if not placeholders:
        return text
    parts = []
    position = 0
    for placeholder in placeholders:
        parts.append(text[position : placeholder.start])
        parts.append(_value(placeholder, values))
        position = placeholder.end
    parts.append(text[position:])
    return "".join(parts)


class _EnvNames:
    """Environment variable names for placeholders, unique within one rendering."""

    def __init__(self) -> None:
        self.env: dict[str, str] = {}
        self._by_name: dict[str, str] = {}

    def name_for(self, name: str, value: str) -> str:
        known = self._by_name.get(name)
        if known is not None:
            return known
        if "\0" in value:
            raise RenderError(f"the value of '{{{{ {name} }}}}' contains a NUL byte")
        prefix = "BARBOSSA_REF_" if "." in name else "BARBOSSA_VAR_"
        base = prefix + _UNSAFE.sub("_", name)
        candidate, suffix = base, 1
        while candidate in self.env:  # `tasks.a-b.x` and `tasks.a_b.x` mangle alike
            suffix += 1
            candidate = f"{base}_{suffix}"
        self._by_name[name] = candidate
        self.env[candidate] = value
        return candidate


def render_shell(text: str, values: Mapping[str, str]) -> RenderedShell:
    """Shell script `text` with placeholders turned into quoted `${VAR}` references."""
    names = _EnvNames()
    return RenderedShell(_shell(text, values, names), names.env)


def _shell(text: str, values: Mapping[str, str], names: _EnvNames) -> str:
    if "{{" not in text:  # no placeholder: nothing to lex
        return text
    parts = []
    position = 0
    for placeholder, context in _contexts(text):
        if context in _PROBLEMS:
            raise RenderError(f"placeholder {placeholder.raw!r} {_PROBLEMS[context]}")
        value = _value(placeholder, values)  # RenderError for a malformed one
        variable = names.name_for(placeholder.name or "", value)
        parts.append(text[position : placeholder.start])
        parts.append(_TEMPLATES[context] % variable)
        position = placeholder.end
    if not parts:
        return text
    parts.append(text[position:])
    return "".join(parts)


def render_spec(spec: Any, values: Mapping[str, str]) -> tuple[Any, dict[str, str]]:
    """`spec` with placeholders rendered per field, and the environment its shell fields need."""
    names = _EnvNames()
    return _render(spec, values, names, shell=False), names.env


@functools.cache
def _init_fields(spec_type: type) -> tuple[tuple[str, bool], ...]:
    """(name, is a shell field) of each init field of a spec dataclass, read once per type."""
    return tuple(
        (f.name, bool(f.metadata.get("shell"))) for f in dataclasses.fields(spec_type) if f.init
    )


def _render(value: Any, values: Mapping[str, str], names: _EnvNames, *, shell: bool) -> Any:
    if isinstance(value, str):
        return _shell(value, values, names) if shell else render_text(value, values)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for name, shell_field in _init_fields(type(value)):
            old = getattr(value, name)
            new = _render(old, values, names, shell=shell_field)
            if new is not old:
                changes[name] = new
        return dataclasses.replace(value, **changes) if changes else value
    if isinstance(value, tuple | list):
        return type(value)(_render(v, values, names, shell=shell) for v in value)
    if isinstance(value, Mapping):
        return {k: _render(v, values, names, shell=shell) for k, v in value.items()}
    return value


def spec_strings(
    value: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str, bool]]:
    """(path, text, is_shell) for every string inside a spec, for validation."""
    yield from _strings(value, path, shell=False)


def _strings(
    value: Any, path: tuple[str | int, ...], *, shell: bool
) -> Iterator[tuple[tuple[str | int, ...], str, bool]]:
    if isinstance(value, str):
        yield path, value, shell
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            sub = getattr(value, f.name)
            yield from _strings(sub, (*path, f.name), shell=bool(f.metadata.get("shell")))
    elif isinstance(value, tuple | list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index), shell=shell)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, (*path, key), shell=shell)

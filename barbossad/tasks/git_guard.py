"""The git URL and ref-name guard: which repositories git_operation may talk to, and how.

Layered with git's own enforcement (GIT_ALLOW_PROTOCOL, protocol.ext.allow=never) rather than
instead of it. A URL is refused when:

- it uses git's `transport::address` form (`ext::sh -c ...` runs a command, `fd::` reuses file
  descriptors) -- always, whatever the configuration says;
- its protocol is not allowed (`user@host:path` counts as ssh, a plain local path as file);
- it could be read as an option (starts with "-", or an ssh host/user starts with "-") or holds
  control characters (a newline can inject lines into credential helpers);
- it has a `..` path segment (lets `*`-patterns be escaped once the path is normalised);
- it matches a block pattern, or allow patterns exist and it matches none.

Patterns are case-insensitive shell globs matched against the whole URL (`*zkp2p*`), or regular
expressions searched in it when written as `re:<regex>`. Both the URL as written and its
percent-decoded form are checked, so `zk%702p` does not slip past `*zkp2p*`.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from barbossad.errors import InvalidArgumentError, PermissionDeniedError
from barbossad.tasks.base import TaskSettings

# The documented default: ZKP2P repositories are never fetched (DaemonConfig.git_block_patterns).
DEFAULT_BLOCK_PATTERNS: tuple[str, ...] = ("*zkp2p*",)
# Never allowed, even if configured: both hand the transport to something other than git.
FORBIDDEN_PROTOCOLS = frozenset({"ext", "fd"})

_TRANSPORT_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*::")  # git's `<transport>::<address>`
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://")
_SCHEME_ALIASES = {"git+ssh": "ssh", "ssh+git": "ssh"}
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_REF_FORBIDDEN_RE = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_USERINFO_RE = re.compile(r"(://)[^/@]*@")
_REMOTE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,99}")


def shown(url: str) -> str:
    """The URL for a message: its user part (which may hold a token) is masked."""
    return _USERINFO_RE.sub(r"\1***@", url)


def url_protocol(url: str) -> str:
    """The protocol git would use for `url` ("https", "ssh", "file", ...); raises if malformed.

    Refuses option-like values, control characters and the `transport::address` form.
    """
    if not url:
        raise InvalidArgumentError("repository URL is empty")
    if url.startswith("-"):
        raise InvalidArgumentError(
            f"repository URL {shown(url)!r} starts with '-' (would be an option)"
        )
    if _CONTROL_RE.search(url):
        raise InvalidArgumentError("repository URL contains control characters")
    if _TRANSPORT_RE.match(url):
        raise PermissionDeniedError(
            f"repository URL {shown(url)!r} uses git's transport::address form (never allowed)"
        )
    scheme = _SCHEME_RE.match(url)
    if scheme:
        protocol = scheme.group(1).lower()
        protocol = _SCHEME_ALIASES.get(protocol, protocol)
        if protocol == "ssh":
            netloc = urlsplit(url).netloc
            if netloc.rpartition("@")[2].startswith("-") or netloc.startswith("-"):
                raise InvalidArgumentError(f"ssh host in {shown(url)!r} starts with '-'")
        return protocol
    colon, slash = url.find(":"), url.find("/")
    if colon > 0 and (slash < 0 or colon < slash):
        # scp-like `[user@]host:path`, which git runs over ssh.
        host = url[:colon].rpartition("@")[2]
        if not host or host.startswith("-") or url.startswith("["):
            raise InvalidArgumentError(f"invalid ssh host in {shown(url)!r}")
        return "ssh"
    return "file"  # a local path


def _matches(pattern: str, text: str) -> bool:
    if pattern.startswith("re:"):
        return re.search(pattern[3:], text, re.IGNORECASE) is not None
    return fnmatch.fnmatchcase(text.lower(), pattern.lower())


@dataclass(frozen=True, slots=True, kw_only=True)
class GitUrlPolicy:
    """Which repository URLs git_operation may use."""

    allowed_protocols: tuple[str, ...] = ("https", "ssh", "file")
    block_patterns: tuple[str, ...] = DEFAULT_BLOCK_PATTERNS
    allow_patterns: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: TaskSettings) -> GitUrlPolicy:
        """The policy the daemon is configured with."""
        return cls(
            allowed_protocols=settings.git_allowed_protocols,
            block_patterns=settings.git_block_patterns,
            allow_patterns=settings.git_allow_patterns,
        )

    @property
    def protocols(self) -> tuple[str, ...]:
        """Allowed protocols without the ones that are never allowed."""
        return tuple(
            p.lower() for p in self.allowed_protocols if p.lower() not in FORBIDDEN_PROTOCOLS
        )

    def git_allow_protocol(self) -> str:
        """The value for git's GIT_ALLOW_PROTOCOL (its own second check of the same rule)."""
        return ":".join(self.protocols)

    def check_url(self, url: str) -> str:
        """The URL's protocol; InvalidArgumentError/PermissionDeniedError unless it may be used."""
        protocol = url_protocol(url)
        if protocol not in self.protocols:
            allowed = ", ".join(self.protocols) or "none"
            raise PermissionDeniedError(
                f"repository URL protocol {protocol!r} is not allowed (allowed: {allowed})"
            )
        decoded = unquote(url)
        path = urlsplit(decoded).path if _SCHEME_RE.match(decoded) else decoded
        if ".." in re.split(r"[/\\:]", path):
            raise InvalidArgumentError(
                f"repository URL {shown(url)!r} contains a '..' path segment"
            )
        forms = (url, decoded)
        for pattern in self.block_patterns:
            if any(_matches(pattern, form) for form in forms):
                raise PermissionDeniedError(
                    f"repository URL {shown(url)!r} is blocked by pattern {pattern!r}"
                )
        if self.allow_patterns and not any(
            all(_matches(pattern, form) for form in forms) for pattern in self.allow_patterns
        ):
            raise PermissionDeniedError(f"repository URL {shown(url)!r} matches no allow pattern")
        return protocol


def check_ref_name(name: str, what: str = "branch") -> str:
    """Raise InvalidArgumentError unless `name` is a valid short ref name (check-ref-format)."""
    problem = _ref_problem(name)
    if problem:
        raise InvalidArgumentError(f"invalid {what} name {name!r}: {problem}")
    return name


def _ref_problem(name: str) -> str:
    if not name:
        return "empty"
    if name.startswith("-"):
        return "starts with '-'"
    if name == "@" or "@{" in name:
        return "'@' alone or '@{' is not allowed"
    if ".." in name or "//" in name:
        return "contains '..' or '//'"
    if _REF_FORBIDDEN_RE.search(name):
        return r"contains a space, a control character or one of ~^:?*[\ "
    if name.startswith("/") or name.endswith(("/", ".")):
        return "starts with '/' or ends with '/' or '.'"
    for part in name.split("/"):
        if part.startswith(".") or part.endswith(".lock"):
            return "a component starts with '.' or ends with '.lock'"
    return ""


def check_remote_name(name: str) -> str:
    """Raise InvalidArgumentError unless `name` is a plain remote name like "origin"."""
    if not _REMOTE_RE.fullmatch(name) or ".." in name or name.endswith(".lock"):
        raise InvalidArgumentError(
            f"invalid remote name {name!r}: use letters, digits and '._-', "
            "starting with a letter or digit"
        )
    return name

"""The git URL guard and ref-name checks, as tables."""

from __future__ import annotations

import pytest

from barbossad.errors import BarbossaError, InvalidArgumentError, PermissionDeniedError
from barbossad.tasks.base import TaskSettings
from barbossad.tasks.git_guard import (
    DEFAULT_BLOCK_PATTERNS,
    GitUrlPolicy,
    check_ref_name,
    check_remote_name,
    url_protocol,
)

DEFAULT = GitUrlPolicy()


@pytest.mark.parametrize(
    ("url", "protocol"),
    [
        ("https://github.com/org/repo.git", "https"),
        ("HTTPS://github.com/org/repo.git", "https"),
        ("http://git.local/repo.git", "http"),
        ("ssh://git@github.com/org/repo.git", "ssh"),
        ("git+ssh://git@github.com/org/repo.git", "ssh"),
        ("git@github.com:org/repo.git", "ssh"),
        ("github.com:org/repo.git", "ssh"),
        ("git://git.kernel.org/pub/scm/git/git.git", "git"),
        ("file:///srv/git/repo.git", "file"),
        ("/srv/git/repo.git", "file"),
        ("./relative/repo", "file"),
    ],
)
def test_protocols(url: str, protocol: str) -> None:
    assert url_protocol(url) == protocol


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("ext::sh -c touch% /tmp/pwned", PermissionDeniedError),
        ("ext::ssh -p 22 host %S 'repo'", PermissionDeniedError),
        ("fd::17", PermissionDeniedError),
        ("fd::7,8/repo", PermissionDeniedError),
        ("remote-helper::https://x/y", PermissionDeniedError),
        ("-uoption", InvalidArgumentError),
        ("--upload-pack=touch /tmp/pwned", InvalidArgumentError),
        ("ssh://-oProxyCommand=touch%20pwned/repo", InvalidArgumentError),
        ("ssh://user@-oProxyCommand=x/repo", InvalidArgumentError),
        ("-oProxyCommand=x:repo", InvalidArgumentError),
        ("https://github.com/org/repo.git\nprotocol=evil", InvalidArgumentError),
        ("", InvalidArgumentError),
    ],
)
def test_dangerous_urls_are_refused(url: str, error: type[BarbossaError]) -> None:
    with pytest.raises(error):
        DEFAULT.check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/zkp2p/zk-p2p.git",
        "https://github.com/zkp2p/zk-p2p",
        "git@github.com:zkp2p/zk-p2p.git",
        "https://github.com/ZKP2P/contracts.git",
        "https://github.com/someone/zkp2p-fork.git",
        "https://github.com/zk%702p/zk-p2p.git",
        "ssh://git@gitlab.com/mirror/ZkP2p.git",
    ],
)
def test_zkp2p_repositories_are_blocked_by_default(url: str) -> None:
    assert DEFAULT_BLOCK_PATTERNS == ("*zkp2p*",)
    with pytest.raises(PermissionDeniedError, match="blocked by pattern"):
        DEFAULT.check_url(url)


def test_daemon_default_config_blocks_zkp2p() -> None:
    from barbossad.config import DaemonConfig

    defaults = {f.name: f.default for f in DaemonConfig.__dataclass_fields__.values()}
    assert defaults["git_block_patterns"] == DEFAULT_BLOCK_PATTERNS


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/org/repo.git",
        "git@github.com:org/repo.git",
        "file:///srv/git/repo.git",
        "/srv/git/repo.git",
    ],
)
def test_ordinary_urls_pass(url: str) -> None:
    DEFAULT.check_url(url)


def test_protocol_not_allowed() -> None:
    policy = GitUrlPolicy(allowed_protocols=("https",))
    with pytest.raises(PermissionDeniedError, match="protocol 'ssh' is not allowed"):
        policy.check_url("git@github.com:org/repo.git")
    with pytest.raises(PermissionDeniedError, match="protocol 'http' is not allowed"):
        DEFAULT.check_url("http://git.local/repo.git")


def test_ext_and_fd_never_reach_git_allow_protocol() -> None:
    policy = GitUrlPolicy(allowed_protocols=("https", "ext", "FD", "file"))
    assert policy.git_allow_protocol() == "https:file"
    with pytest.raises(PermissionDeniedError):
        policy.check_url("ext::sh -c id")


def test_allow_patterns() -> None:
    policy = GitUrlPolicy(
        allow_patterns=("https://github.com/myorg/*", "re:^git@github\\.com:myorg/")
    )
    policy.check_url("https://github.com/myorg/app.git")
    policy.check_url("https://GitHub.com/MyOrg/app.git")
    policy.check_url("git@github.com:myorg/app.git")
    for url in (
        "https://github.com/other/app.git",
        "https://github.com.evil.example/myorg/app.git",
        "git@github.com:other/app.git",
    ):
        with pytest.raises(PermissionDeniedError, match="matches no allow pattern"):
            policy.check_url(url)
    with pytest.raises(InvalidArgumentError, match=r"'\.\.' path segment"):
        policy.check_url("https://github.com/myorg/../other/app.git")
    with pytest.raises(InvalidArgumentError, match=r"'\.\.' path segment"):
        policy.check_url("https://github.com/myorg/%2e%2e/other/app.git")


def test_block_wins_over_allow_and_regex_patterns() -> None:
    policy = GitUrlPolicy(block_patterns=("re:evil",), allow_patterns=("*",))
    with pytest.raises(PermissionDeniedError, match="blocked"):
        policy.check_url("https://example.com/EVIL/repo.git")


def test_policy_from_settings() -> None:
    settings = TaskSettings(git_allowed_protocols=("file",), git_block_patterns=("*x*",))
    policy = GitUrlPolicy.from_settings(settings)
    assert policy.protocols == ("file",) and policy.block_patterns == ("*x*",)


@pytest.mark.parametrize(
    "name", ["main", "feature/x-1", "release-1.2", "v1.0.0", "user/jd/fix_42", "a@b"]
)
def test_good_ref_names(name: str) -> None:
    assert check_ref_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-b",
        "--force",
        "a..b",
        "a b",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[",
        "a\\b",
        "/a",
        "a/",
        "a//b",
        "a.",
        ".a",
        "a/.b",
        "a.lock",
        "a/b.lock/c",
        "@",
        "a@{1}",
        "a\nb",
        "a\x7f",
    ],
)
def test_bad_ref_names(name: str) -> None:
    with pytest.raises(InvalidArgumentError, match="invalid tag name"):
        check_ref_name(name, "tag")


@pytest.mark.parametrize("name", ["-origin", "or igin", "a/b", "..", "x.lock", ""])
def test_bad_remote_names(name: str) -> None:
    with pytest.raises(InvalidArgumentError):
        check_remote_name(name)


def test_messages_mask_credentials() -> None:
    with pytest.raises(PermissionDeniedError) as info:
        DEFAULT.check_url("https://x-access-token:ghp_SECRET@github.com/zkp2p/zk-p2p.git")
    assert "ghp_SECRET" not in str(info.value)
    assert "https://***@github.com/zkp2p/zk-p2p.git" in str(info.value)

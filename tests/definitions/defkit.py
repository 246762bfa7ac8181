"""Definition test kit: small test-local task types and the fixtures built on them.

Imported by name (not as `conftest`) so its classes resolve their annotations in their
own module."""

from __future__ import annotations

import enum
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from barbossad.definitions.model import WorkflowDef
from barbossad.definitions.parse import parse_workflow
from barbossad.errors import DefinitionError, Issue
from barbossad.tasks.base import (
    SHELL_FIELD,
    PlannedAction,
    TaskContext,
    TaskRegistry,
    TaskResult,
)


class _NeverRuns:
    """The parts of a handler that definition tests never use."""

    def describe(self, spec: Any, ctx: TaskContext) -> PlannedAction:
        return PlannedAction(description=f"would run {spec!r}")

    async def run(self, spec: Any, ctx: TaskContext) -> TaskResult:
        return TaskResult(ok=False, error="definition tests run nothing")


@dataclass(frozen=True, slots=True, kw_only=True)
class ShellSpec:
    """Like the real shell_command spec."""

    command: str = field(metadata=SHELL_FIELD)
    shell: str = "bash"


class ShellHandler(_NeverRuns):
    """A shell type that only checks; never runs anything here."""

    type_name: ClassVar[str] = "shell_command"
    spec_type: ClassVar[type] = ShellSpec

    def check(self, spec: Any) -> list[tuple[str, str]]:
        return [("command", "must not be empty")] if not spec.command.strip() else []


class Mode(enum.StrEnum):
    FAST = "fast"
    SAFE = "safe"


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    cpu: float = 1.0
    files: int = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeSpec:
    """Every kind of field the generic spec parser supports."""

    url: str
    count: int = 1
    ratio: float = 0.5
    verbose: bool = False
    label: str | None = None
    port: int | None = None
    wait: float | None = None
    args: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    mode: Mode = Mode.SAFE
    limits: Limits = Limits()
    timeout: float = 30.0  # owns the common `timeout` key, like api_call


class ProbeHandler(_NeverRuns):
    """A type with a rich spec and a semantic check."""

    type_name: ClassVar[str] = "probe"
    spec_type: ClassVar[type] = ProbeSpec

    def check(self, spec: Any) -> list[tuple[str, str]]:
        if not spec.url.startswith(("http://", "https://", "{{")):
            return [("url", f"expected an http(s) URL, got {spec.url!r}")]
        return []


def make_registry() -> TaskRegistry:
    """A registry with shell_command and probe."""
    registry = TaskRegistry()
    registry.register(ShellHandler())
    registry.register(ProbeHandler())
    return registry


@pytest.fixture
def registry() -> TaskRegistry:
    return make_registry()


Parse = Callable[..., WorkflowDef]
Issues = Callable[..., list[Issue]]


@pytest.fixture
def parse(registry: TaskRegistry) -> Parse:
    """Parse dedented YAML (or JSON with fmt="json") with the test registry."""

    def run(text: str, *, source: str = "wf.yaml", fmt: str = "auto") -> WorkflowDef:
        return parse_workflow(textwrap.dedent(text), source=source, registry=registry, fmt=fmt)

    return run


@pytest.fixture
def issues(parse: Parse) -> Issues:
    """The issues parsing dedented text raises (fails the test if it parses)."""

    def run(text: str, **kwargs: Any) -> list[Issue]:
        with pytest.raises(DefinitionError) as caught:
            parse(text, **kwargs)
        return list(caught.value.issues)

    return run

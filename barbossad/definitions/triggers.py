"""The `triggers:` list: one-key mappings (`webhook`, `on_workflow`, `file_watch`) -> frozen defs.

    triggers:
      - webhook: {name: deploy, secret_env: DEPLOY_HOOK_SECRET, parameters: {ref: ref}}
      - on_workflow: {workflow: build, outcome: succeeded}
      - file_watch: {path: /srv/incoming, pattern: "*.csv", debounce: 2s}

Every problem is reported to the Reader with its field path (`triggers[0].webhook.secret_env`),
like the rest of a definition. Parameters are checked against the workflow's variables here, so
a trigger that could never start a valid run is rejected when the template loads.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from barbossad.definitions.convert import Bad, Reader, closest, describe
from barbossad.definitions.loader import FieldPath
from barbossad.definitions.model import VariableDef
from barbossad.definitions.trigger_model import (
    TRIGGER_KINDS,
    FileWatchTrigger,
    TriggerDef,
    WebhookTrigger,
    WorkflowTrigger,
)
from barbossad.definitions.variables import check_values

HOOK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
FILE_WATCH_PARAMETERS = ("changed_path", "change")
MAX_MAX_BODY = 32 * 1024 * 1024
MAX_DEBOUNCE = 3600.0
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SIZE = re.compile(r"(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\Z")
_UNITS = {"B": 1, "KB": 10**3, "KiB": 2**10, "MB": 10**6, "MiB": 2**20, "GB": 10**9, "GiB": 2**30}
_KINDS = {cls.kind: cls for cls in TRIGGER_KINDS}
_NOT_TRIGGERS = {
    "schedule": "cron schedules are declared in the top-level 'schedule:' key",
    "cron": "cron schedules are declared in the top-level 'schedule:' key",
    "manual": "every workflow can be run by hand; its parameters are its 'variables:'",
}
_INLINE_SECRET = (
    "inline secrets are not allowed: the definition is stored in the database and shown by "
    "'barbossactl show'; put the secret in a file or in barbossad's environment and name it "
    "with secret_file or secret_env"
)

Variables = tuple[VariableDef, ...]


def parse_triggers(reader: Reader, raw: Any, variables: Variables) -> tuple[TriggerDef, ...]:
    """The `triggers:` list as typed trigger definitions, reporting every problem to `reader`."""
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple):
        reader.report(("triggers",), f"expected a list of trigger mappings, got {describe(raw)}")
        return ()
    triggers: list[TriggerDef] = []
    hook_names: set[str] = set()
    for index, item in enumerate(raw):
        path: FieldPath = ("triggers", index)
        trigger = _trigger(reader, item, path, variables)
        if isinstance(trigger, WebhookTrigger):
            if trigger.name in hook_names:
                which = repr(trigger.name) if trigger.name else "the default name"
                reader.report((*path, "webhook", "name"), f"another webhook already uses {which}")
            hook_names.add(trigger.name)
        if trigger is not None:
            triggers.append(dataclasses.replace(trigger, line=reader.doc.where(path)[0]))
    return tuple(triggers)


def to_size(reader: Reader, value: Any, path: FieldPath) -> int:
    """A size in bytes: an integer, or text like "512KiB", "1MiB", "2MB"."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        match = _SIZE.match(value.strip())
        if match:
            return int(match.group(1)) * _UNITS[match.group(2) or "B"]
    raise Bad(f"expected a size in bytes like 1048576, '512KiB' or '1MiB', got {describe(value)}")


def _trigger(reader: Reader, item: Any, path: FieldPath, variables: Variables) -> TriggerDef | None:
    if not isinstance(item, Mapping):
        reader.report(path, f"expected a trigger mapping, got {describe(item)}")
        return None
    kinds = ", ".join(_KINDS)
    if "type" in item:
        message = f"write a trigger as '- KIND: {{...}}', KIND one of {kinds}; 'type' is not used"
        reader.report((*path, "type"), message)
        return None
    if len(item) != 1:
        keys = ", ".join(map(str, item)) or "none"
        reader.report(path, f"a trigger has exactly one key, its kind ({kinds}); got: {keys}")
        return None
    kind, body = next(iter(item.items()))
    if kind not in _KINDS:
        reason = (
            _NOT_TRIGGERS.get(kind) or f"unknown trigger kind {kind!r} (expected one of {kinds})"
        )
        reader.report((*path, kind), reason, "" if kind in _NOT_TRIGGERS else closest(kind, _KINDS))
        return None
    parsers: dict[str, Callable[[Reader, Any, FieldPath, Variables], TriggerDef | None]] = {
        "webhook": _webhook,
        "on_workflow": _on_workflow,
        "file_watch": _file_watch,
    }
    return parsers[kind](reader, {} if body is None else body, (*path, kind), variables)


def _webhook(reader: Reader, body: Any, path: FieldPath, variables: Variables) -> TriggerDef | None:
    if not isinstance(body, Mapping):
        reader.report(path, f"expected a mapping for a webhook trigger, got {describe(body)}")
        return None
    data = dict(body)
    if data.pop("secret", None) is not None:
        reader.report((*path, "secret"), _INLINE_SECRET)
    if "max_body" in data:
        size = reader.convert(to_size, data.pop("max_body"), (*path, "max_body"))
        if size is not None:
            data["max_body"] = size
    hook: WebhookTrigger | None = reader.build(
        WebhookTrigger, data, path, what="a webhook trigger", exclude=("line",)
    )
    if hook is None:
        return None
    if hook.name and not HOOK_NAME.match(hook.name):
        message = (
            "use letters, digits, '_', '-' and '.' (at most 64, starting with a letter or digit)"
        )
        reader.report((*path, "name"), f"invalid hook name {hook.name!r}: {message}")
    _check_secret(reader, hook, path)
    if not 1 <= hook.max_body <= MAX_MAX_BODY:
        reader.report(
            (*path, "max_body"), f"must be between 1 byte and 32 MiB, got {hook.max_body}"
        )
    declared = {v.name: v for v in variables}
    for name, where in hook.parameters.items():
        if name not in declared:
            message = (
                f"unknown parameter {name!r} (declared variables: {', '.join(declared) or 'none'})"
            )
            reader.report((*path, "parameters", name), message, closest(name, declared))
        if not where or any(not part for part in where.split(".")):
            message = (
                f"expected a dotted path into the JSON payload like 'head_commit.id', got {where!r}"
            )
            reader.report((*path, "parameters", name), message)
    _check_required(reader, variables, set(hook.parameters), path, "map it from the payload")
    return hook


def _check_secret(reader: Reader, hook: WebhookTrigger, path: FieldPath) -> None:
    if hook.secret_env is None and hook.secret_file is None:
        message = (
            "a webhook needs a secret: set secret_env (an environment variable of barbossad) "
            "or secret_file (a file only barbossad's user can read)"
        )
        reader.report(path, message)
    elif hook.secret_env is not None and hook.secret_file is not None:
        reader.report(path, "set only one of secret_env and secret_file")
    if hook.secret_env is not None and not _ENV_NAME.match(hook.secret_env):
        reader.report(
            (*path, "secret_env"), f"invalid environment variable name {hook.secret_env!r}"
        )
    if hook.secret_file is not None and not os.path.isabs(hook.secret_file):
        reader.report(
            (*path, "secret_file"), f"expected an absolute path, got {hook.secret_file!r}"
        )


def _on_workflow(
    reader: Reader, body: Any, path: FieldPath, variables: Variables
) -> TriggerDef | None:
    if isinstance(body, str):
        body = {"workflow": body}  # shorthand: `- on_workflow: build`
    trigger: WorkflowTrigger | None = reader.build(
        WorkflowTrigger, body, path, what="an on_workflow trigger", exclude=("line",)
    )
    if trigger is None:
        return None
    if not trigger.workflow.strip():
        reader.report((*path, "workflow"), "'workflow' must not be empty")
    _, problems = check_values(variables, trigger.parameters)
    for name, bad in problems:
        reader.report((*path, "parameters", name), bad.message, bad.suggestion)
    return trigger


def _file_watch(
    reader: Reader, body: Any, path: FieldPath, variables: Variables
) -> TriggerDef | None:
    if isinstance(body, str):
        body = {"path": body}  # shorthand: `- file_watch: /srv/incoming`
    watch: FileWatchTrigger | None = reader.build(
        FileWatchTrigger, body, path, what="a file_watch trigger", exclude=("line",)
    )
    if watch is None:
        return None
    if "{{" in watch.path or not os.path.isabs(watch.path):
        reader.report((*path, "path"), f"expected an absolute path, got {watch.path!r}")
    if not watch.events:
        reader.report(
            (*path, "events"), "must list at least one of created, modified, deleted, moved"
        )
    elif len(set(watch.events)) != len(watch.events):
        reader.report((*path, "events"), "events must be distinct")
    if watch.pattern is not None and (not watch.pattern or "/" in watch.pattern):
        reader.report(
            (*path, "pattern"), f"expected a glob on file names like '*.csv', got {watch.pattern!r}"
        )
    if not 0 <= watch.debounce <= MAX_DEBOUNCE:
        reader.report((*path, "debounce"), f"must be between 0 and 1h, got {watch.debounce:g}")
    supplied = {name for name in FILE_WATCH_PARAMETERS if any(v.name == name for v in variables)}
    _check_required(
        reader, variables, supplied, path, "a file_watch run sets only changed_path and change"
    )
    return watch


def _check_required(
    reader: Reader, variables: Variables, supplied: set[str], path: FieldPath, hint: str
) -> None:
    for variable in variables:
        if variable.required and variable.default is None and variable.name not in supplied:
            message = f"variable {variable.name!r} is required and has no default ({hint})"
            reader.report((*path, "parameters"), message)

"""Property: any valid definition survives parse -> dump -> parse, via mappings and via YAML."""

from __future__ import annotations

import dataclasses
from typing import Any

import yaml
from defkit import make_registry
from hypothesis import given, settings
from hypothesis import strategies as st

from barbossad.definitions.model import WorkflowDef
from barbossad.definitions.parse import dump_workflow, parse_workflow, workflow_from_mapping

REGISTRY = make_registry()
RESERVED = {"tasks", "run", "workflow"}

names = st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True).filter(lambda n: n not in RESERVED)
task_ids = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,6}", fullmatch=True)
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12).filter(
    lambda t: "{{" not in t and "}}" not in t
)
nonblank = texts.filter(lambda t: bool(t.strip()))
seconds = st.floats(min_value=0.001, max_value=1e6, allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def variables(draw: st.DrawFn) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name in draw(st.lists(names, max_size=4, unique=True)):
        kind = draw(st.sampled_from(["short", "string", "int", "bool", "choice"]))
        if kind == "short":
            result[name] = draw(st.none() | texts)
            continue
        spec: dict[str, Any] = {"type": kind, "description": draw(texts)}
        if kind == "choice":
            spec["choices"] = draw(st.lists(nonblank, min_size=1, max_size=3, unique=True))
            spec["default"] = draw(st.sampled_from(spec["choices"]))
        elif kind == "int":
            spec["default"] = str(draw(st.integers(-(10**6), 10**6)))
        elif kind == "bool":
            spec["default"] = draw(st.sampled_from(["true", "false"]))
        else:
            spec["default"] = draw(texts)
        if draw(st.booleans()):
            del spec["default"]
            spec["required"] = draw(st.booleans())
        result[name] = spec
    return result


@st.composite
def commands(draw: st.DrawFn, refs: list[str]) -> str:
    pieces = [draw(st.text("abc xyz'\"-=;|&#\n", max_size=6))]
    for ref in draw(st.lists(st.sampled_from(refs), max_size=3)) if refs else []:
        pieces += [f"{{{{ {ref} }}}}", draw(st.text("abc -=;", max_size=3))]
    command = "".join(pieces)
    return command if command.strip() else command + "true"


@st.composite
def tasks(draw: st.DrawFn, variable_names: list[str]) -> list[dict[str, Any]]:
    ids = draw(st.lists(task_ids, min_size=1, max_size=6, unique=True))
    result = []
    for index, task_id in enumerate(ids):
        deps = draw(st.lists(st.sampled_from(ids[:index]), unique=True)) if index else []
        refs = [*variable_names, "run.id", "workflow.name"]
        refs += [f"tasks.{d}.outputs.out" for d in deps] + [f"tasks.{d}.exit_code" for d in deps]
        task: dict[str, Any] = {"id": task_id}
        if draw(st.booleans()):
            task["name"] = draw(nonblank)
        if deps:
            task["dependencies"] = deps
        if draw(st.booleans()):
            task["type"], task["command"] = "shell_command", draw(commands(refs))
            task["shell"] = draw(st.sampled_from(["bash", "sh"]))
            if draw(st.booleans()):
                task["timeout"] = draw(seconds | st.sampled_from(["30s", "5m", "1h30m"]))
        else:
            task["type"], task["url"] = "probe", "https://example.org/" + draw(texts)
            task["count"] = draw(st.integers(-5, 5))
            task["ratio"] = draw(st.floats(-1e9, 1e9, allow_nan=False))
            task["label"] = draw(st.none() | texts)
            task["args"] = draw(st.lists(texts, max_size=3))
            task["headers"] = draw(st.dictionaries(nonblank, texts, max_size=2))
            task["body"] = draw(json_values)
            task["mode"] = draw(st.sampled_from(["fast", "safe"]))
            task["limits"] = {"cpu": draw(seconds), "files": draw(st.integers(0, 9))}
        if draw(st.booleans()):
            task["env"] = draw(
                st.dictionaries(
                    st.from_regex(r"[A-Z][A-Z0-9_]{0,5}", fullmatch=True), texts, max_size=2
                )
            )
        if draw(st.booleans()):
            task["retry"] = draw(
                st.integers(1, 5)
                | st.fixed_dictionaries(
                    {"attempts": st.integers(1, 5)},
                    optional={
                        "delay": st.floats(0, 100),
                        "backoff_factor": st.floats(1, 4),
                        "max_delay": seconds,
                    },
                )
            )
        if draw(st.booleans()):
            task["condition"] = draw(st.sampled_from(["all_succeeded", "always", "on_failure"]))
        if draw(st.booleans()):
            task["continue_on_error"] = draw(st.booleans())
        if draw(st.booleans()):
            task["working_directory"] = draw(nonblank)
        result.append(task)
    return result


hook_names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,8}", fullmatch=True)
env_names = st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True)
abs_paths = st.from_regex(r"(/[a-z0-9_.-]{1,6}){1,3}", fullmatch=True)
dotted = st.from_regex(r"[a-z_]{1,5}(\.[a-z0-9_]{1,5}){0,2}", fullmatch=True)
changes = ["created", "modified", "deleted", "moved"]


def webhook_entry(draw: st.DrawFn, name: str, declared: list[str], required: dict[str, str]) -> Any:
    secret = draw(st.sampled_from(["secret_env", "secret_file"]))
    hook: dict[str, Any] = {secret: draw(env_names if secret == "secret_env" else abs_paths)}
    if name:
        hook["name"] = name
    if draw(st.booleans()):
        hook["max_body"] = draw(st.integers(1, 2**25) | st.sampled_from(["1MiB", "10KB"]))
    extra = draw(st.lists(st.sampled_from(declared))) if declared else []
    mapped = {n: draw(dotted) for n in [*required, *extra]}
    if mapped or draw(st.booleans()):
        hook["parameters"] = mapped
    return {"webhook": hook}


def file_watch_entry(draw: st.DrawFn) -> Any:
    watch: dict[str, Any] = {"path": draw(abs_paths)}
    if draw(st.booleans()):
        watch["events"] = draw(st.lists(st.sampled_from(changes), min_size=1, unique=True))
    if draw(st.booleans()):
        watch["pattern"] = draw(st.from_regex(r"[*?a-z.]{1,6}", fullmatch=True))
    if draw(st.booleans()):
        watch["recursive"] = draw(st.booleans())
    if draw(st.booleans()):
        watch["debounce"] = draw(st.floats(0, 3600) | st.sampled_from(["2s", "1m"]))
    return {"file_watch": watch} if len(watch) > 1 else {"file_watch": watch["path"]}


@st.composite
def trigger_list(draw: st.DrawFn, declared: list[str], required: dict[str, str]) -> list[Any]:
    """Valid `triggers:` entries: every required variable is supplied or mapped."""
    result: list[Any] = []
    used: set[str] = set()
    for kind in draw(
        st.lists(st.sampled_from(["webhook", "on_workflow", "file_watch"]), max_size=3)
    ):
        if kind == "webhook":
            name = draw(st.just("") | hook_names)
            if name not in used:
                used.add(name)
                result.append(webhook_entry(draw, name, declared, required))
        elif kind == "on_workflow":
            upstream = draw(nonblank)
            outcome = draw(st.sampled_from(["succeeded", "failed", "any"]))
            entry = {"workflow": upstream, "outcome": outcome, "parameters": required}
            short = not required and draw(st.booleans())
            result.append({"on_workflow": upstream if short else entry})
        elif not required:  # a file_watch run supplies no other variable
            result.append(file_watch_entry(draw))
    return result


@st.composite
def definitions(draw: st.DrawFn) -> dict[str, Any]:
    declared = draw(variables())
    data: dict[str, Any] = {"name": draw(nonblank), "variables": declared}
    data["tasks"] = draw(tasks(list(declared)))
    for key, strategy in (
        ("description", texts),
        ("version", texts),
        ("max_parallel", st.integers(1, 64)),
        ("timeout", seconds),
    ):
        if draw(st.booleans()):
            data[key] = draw(strategy)
    required = {
        name: "1" if spec.get("type") in ("int", "bool") else spec.get("choices", ["x"])[0]
        for name, spec in declared.items()
        if isinstance(spec, dict) and spec.get("required")
    }
    if draw(st.booleans()):
        data["triggers"] = draw(trigger_list(list(declared), required))
    if draw(st.booleans()):
        data["schedule"] = [
            {"cron": "0 2 * * *", "parameters": required, "enabled": draw(st.booleans())},
            "@daily" if not required else {"cron": "*/5 * * * *", "parameters": required},
        ]
    return data


def normalised(wf: WorkflowDef) -> WorkflowDef:
    return dataclasses.replace(
        wf,
        source="",
        hash="",
        tasks=tuple(dataclasses.replace(t, line=0) for t in wf.tasks),
        schedules=tuple(dataclasses.replace(s, line=0) for s in wf.schedules),
        triggers=tuple(dataclasses.replace(t, line=0) for t in wf.triggers),
    )


@settings(max_examples=200, deadline=None)
@given(data=definitions())
def test_parse_dump_parse(data: dict[str, Any]) -> None:
    first = workflow_from_mapping(data, source="gen", registry=REGISTRY)
    dumped = dump_workflow(first)
    second = workflow_from_mapping(dumped, source="dump", registry=REGISTRY)
    assert normalised(second) == normalised(first)
    assert second.hash == first.hash
    assert dump_workflow(second) == dumped


@settings(max_examples=100, deadline=None)
@given(data=definitions())
def test_yaml_text_round_trip(data: dict[str, Any]) -> None:
    first = workflow_from_mapping(data, source="gen", registry=REGISTRY)
    text = yaml.safe_dump(dump_workflow(first), sort_keys=False)  # PyYAML mis-emits U+0085 raw
    again = parse_workflow(text, source="again.yaml", registry=REGISTRY)
    assert normalised(again) == normalised(first)
    assert again.hash == first.hash

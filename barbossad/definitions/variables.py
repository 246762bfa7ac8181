"""Workflow variables: their declarations, and the values a run is given for them.

Declared as `name: default` (a string variable) or as a mapping with `type` (string, int, bool,
choice), `choices`, `default`, `description` and `required`. Values are always text: an int
variable's value is its decimal text, a bool's is "true" or "false".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from barbossad.definitions.convert import Bad, Reader, closest, describe, to_bool, to_str
from barbossad.definitions.loader import FieldPath
from barbossad.definitions.model import VariableDef, VariableType, WorkflowDef
from barbossad.errors import DefinitionError, Issue

VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
RESERVED_NAMES = frozenset({"tasks", "run", "workflow"})  # namespaces of built-in placeholders
_KEYS = ("type", "choices", "default", "description", "required")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def normalize_value(variable: VariableDef, text: str) -> str:
    """`text` checked against the variable's type and normalised; Bad if it does not fit."""
    if variable.type is VariableType.INT:
        try:
            return str(int(text.strip()))
        except ValueError:
            raise Bad(f"expected an integer, got {text!r}") from None
    if variable.type is VariableType.BOOL:
        lowered = text.strip().lower()
        if lowered in _TRUE or lowered in _FALSE:
            return "true" if lowered in _TRUE else "false"
        raise Bad(f"expected true/false/yes/no/1/0, got {text!r}")
    if variable.type is VariableType.CHOICE and text not in variable.choices:
        raise Bad(
            f"expected one of {', '.join(variable.choices)}, got {text!r}",
            suggestion=closest(text, variable.choices),
        )
    return text


def check_values(
    variables: Sequence[VariableDef], supplied: Mapping[str, str]
) -> tuple[dict[str, str], list[tuple[str, Bad]]]:
    """Every variable's value (supplied, else default, else ""), and the problems by name."""
    declared = {v.name: v for v in variables}
    problems: list[tuple[str, Bad]] = []
    for name in supplied:
        if name not in declared:
            names = ", ".join(declared) or "none"
            message = f"unknown parameter {name!r} (declared variables: {names})"
            problems.append((name, Bad(message, suggestion=closest(name, declared))))
    values: dict[str, str] = {}
    for variable in variables:
        if variable.name in supplied:
            try:
                values[variable.name] = normalize_value(variable, supplied[variable.name])
            except Bad as bad:
                problems.append((variable.name, bad))
        elif variable.default is not None:
            values[variable.name] = variable.default
        elif variable.required:
            message = f"parameter {variable.name!r} is required (the variable has no default)"
            problems.append((variable.name, Bad(message)))
        else:
            values[variable.name] = ""
    return values, problems


def resolve_parameters(workflow: WorkflowDef, supplied: Mapping[str, str]) -> dict[str, str]:
    """The value of every variable for a run, as text; DefinitionError naming each bad one."""
    values, problems = check_values(workflow.variables, supplied)
    if problems:
        raise DefinitionError(
            [
                Issue(
                    file=workflow.source,
                    line=0,
                    column=0,
                    field=f"parameters.{name}",
                    message=bad.message,
                    suggestion=bad.suggestion,
                )
                for name, bad in problems
            ]
        )
    return values


def parse_variables(reader: Reader, raw: Any, path: FieldPath) -> tuple[VariableDef, ...]:
    """The `variables:` mapping as VariableDefs, reporting every problem to `reader`."""
    if not isinstance(raw, Mapping):
        reader.report(path, f"expected a mapping of variable names, got {describe(raw)}")
        return ()
    result = []
    for name, spec in raw.items():
        where = (*path, name)
        if not VARIABLE_NAME.match(name):
            reader.report(where, f"invalid variable name {name!r}: use letters, digits and '_'")
            continue
        if name in RESERVED_NAMES:
            reader.report(where, f"variable name {name!r} is reserved for built-in placeholders")
            continue
        if isinstance(spec, Mapping):
            variable = _long_form(reader, name, spec, where)
        else:
            default = None if spec is None else reader.convert(to_str, spec, where)
            variable = VariableDef(name=name, default=default)
        if variable is not None:
            result.append(variable)
    return tuple(result)


def _long_form(
    reader: Reader, name: str, spec: Mapping[str, Any], path: FieldPath
) -> VariableDef | None:
    reader.unknown_keys(spec, path, _KEYS, what=f"variable {name!r}")
    before = len(reader.issues)
    type_text = reader.convert(to_str, spec.get("type", "string"), (*path, "type"), "string")
    try:
        var_type = VariableType(type_text)
    except ValueError:
        names = [t.value for t in VariableType]
        message = f"unknown variable type {type_text!r} (expected one of {', '.join(names)})"
        reader.report((*path, "type"), message, closest(type_text, names))
        return None
    choices = _choices(reader, spec.get("choices"), (*path, "choices"), var_type)
    description = reader.convert(to_str, spec.get("description", ""), (*path, "description"), "")
    required = reader.convert(to_bool, spec.get("required", False), (*path, "required"), False)
    variable = VariableDef(
        name=name, type=var_type, description=description, required=required, choices=choices
    )
    raw_default = spec.get("default")
    if raw_default is not None:
        where = (*path, "default")
        try:
            text = _default_text(reader, var_type, raw_default, where)
            variable = VariableDef(
                name=name,
                type=var_type,
                default=normalize_value(variable, text),
                description=description,
                required=required,
                choices=choices,
            )
        except Bad as bad:
            reader.report(where, bad.message, bad.suggestion)
    return variable if len(reader.issues) == before else None


def _choices(reader: Reader, raw: Any, path: FieldPath, var_type: VariableType) -> tuple[str, ...]:
    if var_type is not VariableType.CHOICE:
        if raw is not None:
            reader.report(path, f"'choices' is only allowed for type choice, not {var_type.value}")
        return ()
    if not isinstance(raw, list | tuple) or not raw:
        reader.report(path, "a choice variable needs a non-empty list of 'choices'")
        return ()
    choices = tuple(reader.convert(to_str, item, (*path, i), "") for i, item in enumerate(raw))
    if len(set(choices)) != len(choices):
        reader.report(path, "choices must be distinct")
    return choices


def _default_text(reader: Reader, var_type: VariableType, value: Any, path: FieldPath) -> str:
    # An int or bool variable takes the value YAML read (0x10 is 16, yes is true); others
    # take the text exactly as written.
    if var_type is VariableType.INT and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if var_type is VariableType.BOOL and isinstance(value, bool):
        return "true" if value else "false"
    return reader.text(value, path)

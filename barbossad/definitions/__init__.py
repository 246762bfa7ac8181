"""Workflow definitions: YAML/JSON text -> frozen, validated WorkflowDef; no I/O."""

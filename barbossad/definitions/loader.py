"""Safe loading of definition text: size limit, decoding, then YAML or JSON with positions.

Every problem is a `DefinitionError` whose issues name the file, line and column.
"""

from __future__ import annotations

from barbossad.definitions.document import (
    FieldPath,
    LoadedDocument,
    document_error,
    field_name,
)
from barbossad.definitions.json_source import load_json
from barbossad.definitions.yaml_source import load_yaml

__all__ = ["FieldPath", "LoadedDocument", "field_name", "load_document"]

MAX_BYTES = 4 * 1024 * 1024
MAX_ALIASES = 10_000
MAX_NODES = 1_000_000


def load_document(
    text: str | bytes,
    *,
    source: str,
    fmt: str = "auto",
    max_bytes: int = MAX_BYTES,
    max_aliases: int = MAX_ALIASES,
    max_nodes: int = MAX_NODES,
) -> LoadedDocument:
    """Load YAML or JSON text whose top level must be a mapping; DefinitionError if it is not.

    `fmt` is "yaml", "json" or "auto" (JSON for a `.json` source, YAML otherwise).
    """
    if fmt == "auto":
        fmt = "json" if source.lower().endswith(".json") else "yaml"
    if fmt not in ("yaml", "json"):
        raise ValueError(f"unknown definition format {fmt!r} (expected yaml, json or auto)")
    size = (
        len(text)
        if isinstance(text, bytes) or len(text) > max_bytes
        else len(text.encode("utf-8", "surrogatepass"))
    )
    if size > max_bytes:
        raise document_error(
            source, 0, 0, f"file is {_mib(size)}, larger than the {_mib(max_bytes)} limit"
        )
    if isinstance(text, bytes):
        text = _decode(text, source)
    if fmt == "json":
        return load_json(text, source, max_nodes)
    return load_yaml(text, source, max_aliases, max_nodes)


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise document_error(source, line, 0, f"not valid UTF-8 text (byte {exc.start})") from None

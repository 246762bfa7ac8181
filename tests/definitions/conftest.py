"""Fixtures for definition tests (defined in defkit)."""

from defkit import issues, parse, registry

__all__ = ["issues", "parse", "registry"]

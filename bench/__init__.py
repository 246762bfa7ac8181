"""Benchmarks: each reports a figure against a baseline measured in the same run."""

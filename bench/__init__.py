"""Benchmarks, run with ``python -m bench NAME`` (figures go to docs/benchmarks.md)."""

"""Benchmarks of issue 8: `python -m benchmarks` (or `benchmarks/run`, `strangler bench`)."""

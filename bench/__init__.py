"""Benchmark scripts: they print figures; tests never assert on time."""

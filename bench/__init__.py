"""Benchmarks: figures (API-call counts, ratios, timings) printed for people to read, never pass/fail."""

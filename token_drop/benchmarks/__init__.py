"""Benchmark scripts: each prints a table of ratios against the baseline encoder."""

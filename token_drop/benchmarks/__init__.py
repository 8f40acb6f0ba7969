"""Benchmark scripts: each prints a table of ratios against the baseline encoder.

Run from the repository root as `python -m token_drop.benchmarks.<script>`
(`--helpfull` lists the flags). They stay in the package, beside the code
they measure, because they import its experiments, tasks and FLOP model and
run train.py from the checkout; `common` holds what they share.
"""

"""Helpers shared by the test suite (tests/), as tfm has official/utils/testing.

They live in the package, not in tests/, so that test modules import them by
their package name (no sys.path changes and no test module importing
another): `train_utils` runs train.py on tiny overrides from a repository
checkout, `distribute` holds the suite's MirroredStrategy, and `hf_reference`
is a plain-numpy Hugging Face BERT forward pass.
"""

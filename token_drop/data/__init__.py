"""Data: pretraining and fine-tuning inputs, their CLIs and input checks."""

"""Encoders, one per method, each next to its config dataclass."""

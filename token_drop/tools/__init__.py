"""Command-line tools (checkpoint import/export, reports)."""

"""Training-loop pieces shared by every experiment (config parsing, trainer)."""

"""Tasks shared by the methods (masked LM with per-token losses, distillation, pruning)."""

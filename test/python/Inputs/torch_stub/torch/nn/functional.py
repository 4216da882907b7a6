"""Stand-in: torch.nn.functional (imported, not called)."""

"""Stand-in: torch.nn.attention (imported, not called)."""

SDPBackend = None


def sdpa_kernel(*args, **kwargs):
    raise RuntimeError("torch stand-in: sdpa_kernel is not available")

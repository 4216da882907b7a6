"""ringattn: ring attention for context-parallel training (Python side).

The runtime binding (`runtime`) loads a ringattn-gen output directory and
launches its kernels on PyTorch tensors.
"""

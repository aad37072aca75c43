"""Backends: one list of primitives (primitives.py), implemented by cpu.py (NumPy) and cuda.py (Triton
kernels, an object built on first use).

A Tensor holds a backend array: an np.ndarray on the CPU, a tritongrad.cuda.DeviceArray on CUDA.
Ops (tritongrad/ops) call these primitives and never touch arrays otherwise. primitives.py lists
them (name, kind, arity, dtype rule, the op a fused backward belongs to); cpu.py documents each.
`dtype` arguments are tritongrad dtypes; compute primitives get operands that already share one
dtype (promotion happens in ops), and scalars as Python numbers.
"""
from . import cuda  # NOTE: cheap (Triton loads when the backend is built); makes tg.backends.cuda.matmul exist
from .cpu import CPUBackend


def get(device_type):
    """The backend for a device type ('cpu' or 'cuda')."""
    if device_type == "cpu":
        return CPUBackend
    if device_type == "cuda":
        return cuda.backend()
    raise RuntimeError(f"unknown device type {device_type!r}")

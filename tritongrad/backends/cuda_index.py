"""The CUDA backend's indexing primitives (the rows of primitives.py after `adam_step`): the launch
wrappers of kernels/index_ops.py, set on CUDABackend as the other primitives are.

NOTE: each is a stub that imports kernels/index_ops.py on its first call (Triton and the kernels load
only once a CUDA array exists, which initializes the device), then calls straight through; it shows
the CPU primitive's signature, which the kernels' wrapper has too (tests/test_primitives.py checks
that keyword calls work on both devices).
"""
import inspect

from .cpu import CPUBackend
from .cuda import CUDABackend

INDEX_PRIMITIVES = ("index_select", "index_select_backward", "index_put", "gather", "gather_backward", "scatter",
                    "index_add_", "index_copy_", "scatter_", "index_term", "nonzero", "unravel", "as_strided",
                    "tril", "flip", "roll", "diagonal", "diag_embed", "cat", "masked_fill_")


def _primitive(name):
    fn = None

    def call(*args, **kwargs):
        nonlocal fn
        if fn is None:
            from ..kernels import index_ops

            fn = getattr(index_ops, name)
        return fn(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__signature__ = inspect.signature(getattr(CPUBackend, name))  # NOTE: index_ops' wrappers take the same
    return staticmethod(call)


for _name in INDEX_PRIMITIVES:
    setattr(CUDABackend, _name, _primitive(_name))

"""The formula adapter: the F vocabulary on raw backend arrays, generated from the primitive list.

A derivative formula (ops/table.py) calls F.<primitive>(...). On arrays (backward() without
create_graph, no hooks on the node) F.<name> is the backend's primitive itself: a gradient then
skips the Tensor layer's checks, dispatch and wrapping, about 2 us per op on tiny tensors and most
of a small training step's backward. On Tensors (table.TENSOR_F) F.<name> is the op whose forward
is that primitive. Both come from the same list, and so do the composites every formula may
use (`sum_to`, `t`, `reshape`, ops/table.py), written once in terms of F.

Gradients reaching a formula have the dtype of the op's output (the engine sees to it), and
operands share one dtype, as backend primitives require. Saved tensors are version-checked on both
paths (`F.saved`).
"""
from functools import partial

from .._dtype import _FROM_NP
from ..autograd.function import BackwardNode
from ..backends import CPUBackend, cuda
from ..backends.primitives import PRIMITIVES
from ..cuda.array import DeviceArray
from .table import COMPOSITES


class ArrayF:
    """F on one backend's arrays: each primitive of the list, bound to the backend."""

    def __init__(self, be):
        self.be = be
        for p in PRIMITIVES:
            # NOTE: partial and bound primitives: C calls, no Python frame in between
            if p.kind in ("unary", "binary", "reduce"):
                fn = partial(getattr(be, p.kind), p.name)
            else:
                fn = getattr(be, p.name)
            setattr(self, p.name, fn)
        self.broadcast = be.broadcast  # NOTE: a gradient is only read: the backend may copy rather than view
        for name, fn in COMPOSITES.items():
            setattr(self, name, partial(fn, self))

    saved = staticmethod(BackwardNode._unpacked_arrays)  # NOTE: F.saved(ctx) is ctx._unpacked_arrays(), one frame

    @staticmethod
    def const(a, like):
        return a

    def zeros(self, like, shape):
        """Zeros of `shape` with array `like`'s dtype (and backend)."""
        return self.be.full(shape, 0, like.dtype if like.__class__ is DeviceArray else _FROM_NP[like.dtype])

    def zeros_like(self, a):
        return self.be.full(a.shape, 0, a.dtype if a.__class__ is DeviceArray else _FROM_NP[a.dtype])

    def transfer(self, a, be):
        """`a`, an array of this backend, copied to backend `be` (ToCopy's gradient)."""
        return be.from_numpy(self.be.to_numpy(a)) if be.name != "cpu" else self.be.to_numpy(a)


class _ByArrayClass(dict):
    """F for a backend array's class (an ndarray, a NumPy scalar from a 0-d ufunc, a DeviceArray):
    `ARRAYS[g.__class__]`, a dict lookup where the engine runs a formula."""

    def __missing__(self, cls):
        if cls is DeviceArray:
            f = ArrayF(cuda.backend())
        elif cls.__module__ == "numpy":
            f = _CPU
        else:
            raise TypeError(f"not a backend array: {cls.__name__}")
        self[cls] = f
        return f


_CPU = ArrayF(CPUBackend)
ARRAYS = _ByArrayClass()

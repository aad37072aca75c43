"""The CUDA backend: every primitive of the primitive list (primitives.py) as a Triton launch (kernels/).

Arrays are tritongrad.cuda.array.DeviceArray. Importing this module is cheap: the backend is an
object built on first use (`backend()`), which imports Triton and the kernel modules and binds
their launch wrappers as its primitives, so calls go straight to them. Semantics are the CPU
backend's (cpu.py); where they differ it is said below.

`matmul.allow_tf32` (False by default, as in PyTorch) lets float32 matmuls use TF32 tensor cores:
`tg.backends.cuda.matmul.allow_tf32 = True`.
"""
import sys
from functools import partial
from importlib import import_module

from .primitives import PRIMITIVES


class _MatmulFlags:
    """torch.backends.cuda.matmul's flag of the same name."""

    __slots__ = ("allow_tf32",)

    def __init__(self):
        self.allow_tf32 = False

    def __repr__(self):
        return f"matmul(allow_tf32={self.allow_tf32})"


matmul = _MatmulFlags()


class CUDABackend:
    """Primitives on DeviceArray, launched on tritongrad's current stream; outputs are new arrays.

    Differences from the CPU backend: float-only unary ops (exp, log, ...) and `div` refuse
    integer arrays instead of returning float64 (ops promote first); sum / prod of unsigned
    integers give int64 (PyTorch), not NumPy's uint64; to_numpy returns a copy.
    """

    name = "cuda"

    def __init__(self):
        from ..cuda import _lazy_init
        _lazy_init()  # NOTE: before the kernel modules: emulation must be set when @triton.jit runs
        from ..kernels import (
            elementwise as E,
            loss as LOSS,
            matmul as MM,
            optim as OPT,
            random as RNG,
            reduction as RED,
        )

        def mm(a, b):
            return MM.matmul(a, b, allow_tf32=matmul.allow_tf32)

        def copy_(dst, src):
            if not hasattr(src, "data_ptr") and hasattr(src, "dtype") and getattr(src, "ndim", 0) > 0:
                src = self.from_numpy(src)  # a host array: upload, then copy with broadcast and cast
            return E.copy_(dst, src)

        # NOTE: the CPU backend's parameter names, so that keyword calls work on both devices
        def softmax(a, dim):
            return LOSS.softmax_fwd(a, dim, False)

        def log_softmax(a, dim):
            return LOSS.log_softmax_fwd(a, dim)

        def softmax_backward(grad, y, dim):
            return LOSS.softmax_bwd(grad, y, dim, False)

        def log_softmax_backward(grad, y, dim):
            return LOSS.log_softmax_bwd(grad, y, dim)

        self.full, self.arange, self.rand, self.randn = E.full, E.arange, RNG.rand, RNG.randn
        self.random_, self.multinomial, self.randperm = RNG.random_, RNG.multinomial, RNG.randperm
        self.contiguous, self.astype, self.copy_, self.fill_, self.binary_ = E.contiguous, E.astype, copy_, E.fill_, \
            E.binary_
        self.unary, self.binary, self.rbinary, self.where, self.clamp = (
            E.unary_fwd, E.binary_fwd, E.rbinary_fwd, E.where_fwd, E.clamp_fwd)
        self.reduce, self.arg_reduce, self.matmul = RED.reduce, RED.arg_reduce, mm
        self.softmax, self.log_softmax = softmax, log_softmax
        self.softmax_backward, self.log_softmax_backward = softmax_backward, log_softmax_backward
        self.sgd_step, self.adam_step = OPT.sgd_step, OPT.adam_step
        for p in PRIMITIVES:  # NOTE: the fused elementwise backward rows: one kernel, its OP the row's name
            if p.kind == "backward":
                setattr(self, p.name, partial(E.pointwise_bwd, p.name))
            elif p.triton is not None:  # a row naming its launch wrapper: "module.function" in kernels/
                module, fn = p.triton.split(".")
                setattr(self, p.name, getattr(import_module(f"..kernels.{module}", __package__), fn))

    # --- creation and transfer ---------------------------------------------------------------
    @staticmethod
    def empty(shape, dtype):
        from ..cuda import memory
        return memory.empty(tuple(shape), dtype)

    @staticmethod
    def from_numpy(a):
        """A new device array holding a copy of the host array `a`."""
        import numpy as np

        from .._dtype import from_numpy_dtype
        from ..cuda import memory
        a = np.asarray(a)
        return memory.from_host(a, from_numpy_dtype(a.dtype))

    @staticmethod
    def to_numpy(a):
        """A host copy of `a` (C-contiguous; bfloat16 as uint16 bit patterns)."""
        from ..cuda import memory
        return memory.to_host(a)  # NOTE: copies the span a view covers, then lays it out on the host

    # --- views: no copies ----------------------------------------------------------------------
    @staticmethod
    def view(a, shape):
        """A view of `a` with `shape`, or None when the strides do not allow one."""
        return a.view(tuple(shape))

    @staticmethod
    def permute(a, dims):
        return a.permute(dims)

    @staticmethod
    def expand(a, shape):
        return a.expand(tuple(shape))

    broadcast = expand  # NOTE: the kernels read a stride-0 operand at full speed: no copy (cf. cpu.py)

    @staticmethod
    def index(a, idx):
        """Basic indexing (ints, slices with step > 0, None, Ellipsis): always a view."""
        return a.index(idx)

    @staticmethod
    def is_contiguous(a):
        return a.is_contiguous()

    @staticmethod
    def strides(a):
        """Strides in elements."""
        return a.strides

    @staticmethod
    def owns_memory(a):
        """True when `a` is the only array on its Storage and covers it (its memory can be taken over)."""
        # NOTE: views of one Storage are separate DeviceArrays: count them the way NumPy's .base would
        return sys.getrefcount(a.buf) <= 2 and a.offset == 0 and a.is_contiguous() and (
            a.buf.nbytes == a.size_ * a.dtype.itemsize)


    def index_backward(self, grad, shape, idx, dtype):
        """Zeros of `shape` and `dtype` with `grad` written at basic index `idx` (indexing's backward)."""
        out = self.full(shape, 0, dtype)
        self.copy_(out.index(idx), grad)
        return out


_backend = None


def backend():
    """The CUDA backend, built (Triton and the kernels loaded) on first use."""
    global _backend
    if _backend is None:
        _backend = CUDABackend()
    return _backend

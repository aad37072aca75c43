"""Derivative formulas written once, run on Tensors or on a backend's raw arrays.

An op may write its backward as `formula(ctx, F, grad)`: it computes with the few functions of F
below instead of Tensor operators. F has two implementations with the same names:

- `TENSORS`: differentiable Tensor ops. The op's `backward(ctx, grad)` is its formula run with
  F = TENSORS, so that create_graph, hooks, grad() and backward(inputs=) see an ordinary Tensor
  backward.
- `Arrays(backend)`: the backend's primitives on its arrays. backward() runs formulas so when it
  records nothing (no create_graph) and the node has no hooks: a gradient then skips the Tensor
  layer's checks, dispatch and wrapping, about 2 us per op on tiny tensors and most of a small
  training step's backward. A formula takes the one gradient of an op of one output.

Gradients reaching a formula have the dtype of the op's output (the engine sees to it), and
operands share one dtype, as backend primitives require. Saved tensors are version-checked on both
paths (`F.saved`).
"""
from functools import partial

from ..autograd.function import BackwardNode
from ..backends import CPUBackend, CUDABackend
from ..cuda.array import DeviceArray
from . import util
from .elementwise import ClampGrad, PowGrad, SigmoidGrad, TanhGrad, ThresholdGrad
from .linalg import Mm
from .loss import LogSoftmaxGrad, SoftmaxGrad
from .util import sum_dims
from .view import IndexGrad


class _Tensors:
    """F on Tensors: each function is the differentiable op a Tensor formula would call."""

    @staticmethod
    def saved(ctx):
        return ctx.saved_tensors

    @staticmethod
    def mul(a, b):
        return a * b

    @staticmethod
    def neg(a):
        return -a

    @staticmethod
    def div(a, b):
        return a / b

    sum_to = staticmethod(util.sum_to)

    @staticmethod
    def unary(name, a):
        """An elementwise function by its backend name (sign, sin, cos, ...)."""
        return getattr(a, name)()

    @staticmethod
    def view(a, shape):
        return a.view(shape)

    @staticmethod
    def reshape(a, shape):
        return a.reshape(shape)

    @staticmethod
    def permute(a, dims):
        return a.permute(dims)

    @staticmethod
    def t(a):
        return a.t()

    @staticmethod
    def mm(a, b):
        return Mm.apply(a, b)  # NOTE: shapes known good: mm()'s checks are for users

    @staticmethod
    def expand(a, shape):
        return a._expand(shape)

    pow_backward = staticmethod(PowGrad.apply)
    threshold_backward = staticmethod(ThresholdGrad.apply)
    clamp_backward = staticmethod(ClampGrad.apply)
    sigmoid_backward = staticmethod(SigmoidGrad.apply)
    tanh_backward = staticmethod(TanhGrad.apply)
    softmax_backward = staticmethod(SoftmaxGrad.apply)
    log_softmax_backward = staticmethod(LogSoftmaxGrad.apply)

    @staticmethod
    def index_backward(g, shape, idx, dtype):
        """Zeros of `shape` with `g` written at basic index `idx` (`dtype`, g's, is read from g here)."""
        return IndexGrad.apply(g, shape, idx)


TENSORS = util.TENSORS = _Tensors()


class Arrays:
    """F on one backend's arrays: the same functions as TENSORS, computed by its primitives."""

    def __init__(self, be):
        # NOTE: the backend's primitives themselves (partial: C calls), no method frame in between
        self.be = be
        self.mul, self.div = partial(be.binary, "mul"), partial(be.binary, "div")
        self.neg = partial(be.unary, "neg")
        self.unary, self.view, self.permute, self.mm = be.unary, be.view, be.permute, be.matmul
        self.expand = be.broadcast  # NOTE: a gradient is only read: the backend may copy rather than view
        self.pow_backward, self.threshold_backward, self.clamp_backward = (
            be.pow_backward, be.threshold_backward, be.clamp_backward)
        self.sigmoid_backward, self.tanh_backward = be.sigmoid_backward, be.tanh_backward
        self.softmax_backward, self.log_softmax_backward = be.softmax_backward, be.log_softmax_backward
        self.index_backward = be.index_backward

    saved = staticmethod(BackwardNode._saved_arrays)  # NOTE: F.saved(ctx) is ctx._saved_arrays(), one frame

    def sum_to(self, g, shape):
        if g.shape == shape:
            return g
        dims, lead = sum_dims(g.shape, shape)
        if dims:
            g = self.be.reduce("sum", g, dims, True)
        return self.be.view(g, shape) if lead else g

    def t(self, a):
        return self.be.permute(a, (1, 0))

    def reshape(self, a, shape):
        """A view when the strides allow one, else a contiguous copy's (Tensor.reshape's rule)."""
        v = self.be.view(a, shape)
        return v if v is not None else self.be.view(self.be.contiguous(a), shape)



class _ByArrayClass(dict):
    """F for a backend array's class (an ndarray, a NumPy scalar from a 0-d ufunc, a DeviceArray):
    `ARRAYS[g.__class__]`, a dict lookup where the engine runs a formula."""

    def __missing__(self, cls):
        if cls is DeviceArray:
            CUDABackend._load()  # NOTE: binds the kernels, which Arrays takes from the class
            f = Arrays(CUDABackend)
        elif cls.__module__ == "numpy":
            f = _CPU
        else:
            raise TypeError(f"not a backend array: {cls.__name__}")
        self[cls] = f
        return f


_CPU = Arrays(CPUBackend)
ARRAYS = _ByArrayClass()

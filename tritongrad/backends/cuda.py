"""The CUDA backend: every primitive of backends/__init__.py as a Triton launch (kernels/).

Arrays are tritongrad.cuda.array.DeviceArray. Importing this module is cheap: Triton and the
kernel modules load on the first primitive that needs them (`CUDABackend._load()`, which then
binds the kernel wrappers onto the class, so later calls go straight to them). Semantics are the
CPU backend's (cpu.py); where they differ it is said below.

`matmul.allow_tf32` (False by default, as in PyTorch) lets float32 matmuls use TF32 tensor cores:
`tg.backends.cuda.matmul.allow_tf32 = True`.
"""
import sys
from functools import partial, wraps

from .primitives import PRIMITIVES


class _MatmulFlags:
    """torch.backends.cuda.matmul's flag of the same name."""

    __slots__ = ("allow_tf32",)

    def __init__(self):
        self.allow_tf32 = False

    def __repr__(self):
        return f"matmul(allow_tf32={self.allow_tf32})"


matmul = _MatmulFlags()


def _lazy(name):
    """A primitive that loads the kernels on first use, then calls the real (bound) primitive."""

    def load_then_call(*args, **kwargs):
        CUDABackend._load()
        return getattr(CUDABackend, name)(*args, **kwargs)

    load_then_call.__name__ = load_then_call.__qualname__ = name
    return staticmethod(load_then_call)


class CUDABackend:
    """Primitives on DeviceArray, launched on tritongrad's current stream; outputs are new arrays.

    Differences from the CPU backend: float-only unary ops (exp, log, ...) and `div` refuse
    integer arrays instead of returning float64 (ops promote first); sum / prod of unsigned
    integers give int64 (PyTorch), not NumPy's uint64; to_numpy returns a copy.
    """

    name = "cuda"
    _loaded = False

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

    full = _lazy("full")
    arange = _lazy("arange")
    rand = _lazy("rand")
    randn = _lazy("randn")

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

    contiguous = _lazy("contiguous")
    astype = _lazy("astype")

    # --- compute, backward, in place: bound to kernels/ by _load() ----------------------------
    unary = _lazy("unary")
    binary = _lazy("binary")
    rbinary = _lazy("rbinary")
    where = _lazy("where")
    clamp = _lazy("clamp")
    reduce = _lazy("reduce")
    arg_reduce = _lazy("arg_reduce")
    matmul = _lazy("matmul")
    binary_ = _lazy("binary_")
    fill_ = _lazy("fill_")
    copy_ = _lazy("copy_")
    softmax = _lazy("softmax")
    log_softmax = _lazy("log_softmax")
    softmax_backward = _lazy("softmax_backward")
    log_softmax_backward = _lazy("log_softmax_backward")
    sgd_step = _lazy("sgd_step")
    adam_step = _lazy("adam_step")

    @staticmethod
    def index_backward(grad, shape, idx, dtype):
        """Zeros of `shape` and `dtype` with `grad` written at basic index `idx` (indexing's backward)."""
        out = CUDABackend.full(shape, 0, dtype)
        CUDABackend.copy_(out.index(idx), grad)
        return out

    @classmethod
    def _load(cls):
        """Import Triton and the kernels (once) and bind them as this class's primitives."""
        if cls._loaded:
            return
        from ..cuda import _lazy_init
        _lazy_init()  # NOTE: before the kernel modules: emulation must be set when @triton.jit runs
        from ..kernels import elementwise as E, matmul as MM, random as RNG, reduction as RED

        def mm(a, b):
            return MM.matmul(a, b, allow_tf32=matmul.allow_tf32)

        def copy_(dst, src):
            if not hasattr(src, "data_ptr") and hasattr(src, "dtype") and getattr(src, "ndim", 0) > 0:
                src = cls.from_numpy(src)  # a host array: upload, then copy with broadcast and cast
            return E.copy_(dst, src)

        bound = dict(
            full=E.full, arange=E.arange, rand=RNG.rand, randn=RNG.randn, contiguous=E.contiguous,
            astype=E.astype, unary=E.unary_fwd, binary=E.binary_fwd, rbinary=E.rbinary_fwd, where=E.where_fwd,
            clamp=E.clamp_fwd, reduce=RED.reduce, arg_reduce=RED.arg_reduce, matmul=mm, binary_=E.binary_,
            fill_=E.fill_, copy_=copy_)
        from ..kernels import (
            loss as LOSS,  # NOTE: fused softmax / optimizer kernels
            optim as OPT,
        )

        # NOTE: the CPU backend's parameter names, so that keyword calls work on both devices
        def softmax(a, dim):
            return LOSS.softmax_fwd(a, dim, False)

        def log_softmax(a, dim):
            return LOSS.log_softmax_fwd(a, dim)

        def softmax_backward(grad, y, dim):
            return LOSS.softmax_bwd(grad, y, dim, False)

        def log_softmax_backward(grad, y, dim):
            return LOSS.log_softmax_bwd(grad, y, dim)

        bound.update(softmax=softmax, log_softmax=log_softmax, softmax_backward=softmax_backward,
                     log_softmax_backward=log_softmax_backward, sgd_step=OPT.sgd_step, adam_step=OPT.adam_step)
        bound.update({p.name: partial(E.pointwise_bwd, p.name) for p in PRIMITIVES if p.kind == "backward"})
        for name, fn in bound.items():
            setattr(cls, name, staticmethod(fn))
        cls._loaded = True


for _p in PRIMITIVES:  # NOTE: the fused elementwise backward rows: one kernel, bound in _load()
    if _p.kind == "backward":
        setattr(CUDABackend, _p.name, _lazy(_p.name))


# --- transformer layers (ops/nn.py): kernels/index.py, layernorm.py, attention.py ------------------------
# NOTE: the CPU backend's signatures (cpu.py); each loads its kernel module on first use (an import
# of a loaded module is a dict lookup).
def _embedding(weight, ids):
    from ..kernels import elementwise as E, index as IX

    flat = E.contiguous(ids).view((ids.size_,))
    return IX.index_select(weight, 0, flat).view(tuple(ids.shape) + tuple(weight.shape[1:]))


def _embedding_backward(grad, ids, num_weights, padding_idx):
    from ..kernels import elementwise as E, index as IX

    out = E.full((num_weights,) + tuple(grad.shape[ids.ndim:]), 0, grad.dtype)
    src = E.contiguous(grad).view((ids.size_,) + tuple(out.shape[1:]))
    return IX.index_add_(out, 0, E.contiguous(ids).view((ids.size_,)), src, skip=padding_idx, check=False)


def _layer_norm(x, normalized_shape, weight, bias, eps):
    from ..kernels import layernorm

    return layernorm.layer_norm_fwd(x, normalized_shape, weight, bias, eps)


def _layer_norm_backward(grad, x, mean, rstd, weight, bias, eps):
    from ..kernels import layernorm

    return layernorm.layer_norm_bwd(grad, x, mean, rstd, weight, bias)


def _attention(q, k, v, mask, is_causal, scale):
    from ..kernels import attention

    return attention.attention_fwd(q, k, v, mask, is_causal, scale, allow_tf32=matmul.allow_tf32)


def _attention_backward(grad, q, k, v, o, lse, mask, is_causal, scale):
    from ..kernels import attention

    return attention.attention_bwd(grad, q, k, v, o, lse, mask, is_causal, scale, allow_tf32=matmul.allow_tf32)


def _attention_unsupported(q, k, v, mask):
    from ..kernels import attention

    return attention.unsupported(q, k, v, mask)


def _loading(fn):
    @wraps(fn)  # NOTE: __wrapped__: inspect.signature shows fn's parameters (tests/test_primitives.py)
    def call(*args, **kwargs):
        CUDABackend._load()  # NOTE: emulation is set up before the kernel modules' @triton.jit run
        return fn(*args, **kwargs)

    call.__name__ = call.__qualname__ = fn.__name__[1:]
    return staticmethod(call)


for _fn in (_embedding, _embedding_backward, _layer_norm, _layer_norm_backward, _attention, _attention_backward,
            _attention_unsupported):
    setattr(CUDABackend, _fn.__name__[1:], _loading(_fn))

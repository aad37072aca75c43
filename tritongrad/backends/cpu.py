"""The CPU backend: every primitive with NumPy. Arrays are np.ndarray; views are NumPy views.

This file is also the reference for the primitive list (see backends/__init__.py): the CUDA
backend implements the same methods with the same signatures over DeviceArray.
"""
import math

import numpy as np

from . import _blas
from .primitives import ARRAY as _ARRAY, PRIMITIVES

_UNARY = {p.name: p.numpy for p in PRIMITIVES if p.kind == "unary"}
_BINARY = {p.name: p.numpy for p in PRIMITIVES if p.kind == "binary"}

# NOTE: the ufuncs' own reduce, not np.sum & co., which are Python wrappers costing microseconds
_REDUCE = {"sum": np.add.reduce, "mean": np.add.reduce, "amax": np.maximum.reduce, "amin": np.minimum.reduce,
           "all": np.logical_and.reduce, "any": np.logical_or.reduce, "prod": np.multiply.reduce}


def _np(dtype):
    """The NumPy dtype for a tritongrad dtype; bfloat16 has none, so it lives on CUDA only."""
    if dtype.name == "bfloat16":
        raise TypeError("bfloat16 tensors are supported on CUDA only (NumPy has no bfloat16): on the CPU, "
                        "use float32, e.g. t.float().cpu()")
    return dtype.np


class CPUBackend:
    """Primitives on np.ndarray. Inputs of compute primitives already share one dtype; outputs are new."""

    name = "cpu"

    # --- creation and transfer ---------------------------------------------------------------
    @staticmethod
    def empty(shape, dtype):
        return np.empty(shape, _np(dtype))

    @staticmethod
    def full(shape, value, dtype):
        if value.__class__ is int and value == 0:
            return np.zeros(shape, _np(dtype))
        a = np.empty(shape, _np(dtype))
        a.fill(value)  # NOTE: np.full is Python code around these two calls
        return a

    @staticmethod
    def arange(start, end, step, dtype):
        return np.arange(start, end, step, dtype=_np(dtype))

    @staticmethod
    def from_numpy(a):
        """A new array holding a copy of the host array `a` (C-contiguous)."""
        return np.array(a, order="C", copy=True)

    @staticmethod
    def to_numpy(a):
        """The host array for `a`: on the CPU, `a` itself (shares memory)."""
        return a

    @staticmethod
    def rand(shape, dtype, gen):
        return CPUBackend.random_(np.empty(shape, _np(dtype)), "uniform", gen)

    @staticmethod
    def randn(shape, dtype, gen):
        return CPUBackend.random_(np.empty(shape, _np(dtype)), "normal", gen)

    # --- views: no copies ----------------------------------------------------------------------
    @staticmethod
    def view(a, shape):
        """A view of `a` with `shape`, or None when the strides do not allow one."""
        if a.__class__ is not np.ndarray:
            a = np.asarray(a)  # NOTE: a NumPy scalar, as a 0-d ufunc gives a derivative formula (ops/formulas.py)
        try:
            v = a.view()
            v.shape = shape  # NOTE: assigning .shape raises instead of copying
            return v
        except AttributeError:
            return None

    @staticmethod
    def permute(a, dims):
        return a.transpose(dims)

    @staticmethod
    def expand(a, shape):
        """A read-only broadcast view (stride 0 along expanded dims)."""
        if not a.flags.c_contiguous:
            return np.broadcast_to(a, shape)
        # NOTE: np.broadcast_to is Python code; for a contiguous `a` the view is built directly
        lead = len(shape) - a.ndim
        if not a.ndim:  # a reduction's gradient, expanded back to the input's shape
            strides = (0,) * lead
        else:
            strides = (0,) * lead + tuple(0 if n == 1 and m != 1 else st for n, m, st in zip(a.shape, shape[lead:],
                                                                                            a.strides))
        v = np.ndarray(shape, a.dtype, a, 0, strides)
        v.flags.writeable = False
        return v

    @staticmethod
    def broadcast(a, shape):
        """`a`'s values broadcast to `shape`, for reading only (a reduction's gradient): expand's view,
        or for a small result a new contiguous array.

        NOTE: NumPy's ufuncs run their fast loops on contiguous operands only: on a stride-0 one a
        call on a few elements costs about 0.6 us more, and the read-only view itself about 0.5 us more
        than a filled array. Somewhere between 4k and 10k elements the view starts to win (it writes no
        memory), whence the bound.
        """
        n = math.prod(shape)
        if n > _BROADCAST_COPY_MAX:
            return CPUBackend.expand(a, shape)
        out = np.empty(shape, a.dtype)
        if a.ndim:
            out[...] = a
        else:
            out.fill(a)
        return out

    @staticmethod
    def index(a, idx):
        """Basic indexing (ints, slices with step > 0, None, Ellipsis): always a view."""
        # NOTE: a trailing ... makes NumPy return a 0-d view, not a scalar copy, for all-int indices
        return a[idx] if Ellipsis in idx else a[idx + (Ellipsis,)]

    @staticmethod
    def strides(a):
        """Strides in elements."""
        return tuple(s // a.itemsize for s in a.strides)

    @staticmethod
    def owns_memory(a):
        """True when `a` is the only, contiguous, writable view of its memory (its buffer can be taken)."""
        return a.base is None and a.flags.c_contiguous and a.flags.writeable

    @staticmethod
    def is_contiguous(a):
        return a.flags.c_contiguous

    @staticmethod
    def contiguous(a):
        return np.ascontiguousarray(a)

    @staticmethod
    def astype(a, dtype):
        return a.astype(_np(dtype))

    # --- compute -------------------------------------------------------------------------------
    @staticmethod
    def unary(op, a):
        return _UNARY[op](a)

    @staticmethod
    def binary(op, a, b, alpha=1):
        """a op (alpha * b), broadcast; `b` may be a Python scalar (taken in a's dtype). Comparisons give bool."""
        if alpha != 1:
            b = b * alpha
        if type(b) is np.ndarray:  # NOTE: out=_ARRAY only for a 0-d `a` (see _ARRAY)
            return _BINARY[op](a, b) if a.ndim else _BINARY[op](a, b, out=_ARRAY)
        if a.dtype.kind == "f" and b.__class__ in _FLOAT_SCALARS:
            if op == "pow" and b == 2:
                return np.square(a, out=_ARRAY)  # NOTE: x ** 2 is x * x in any case; the generic pow is twice as slow
            b = _scalar(b, a.dtype)
            return _BINARY[op](a, b) if a.ndim else _BINARY[op](a, b, out=_ARRAY)
        if b.__class__ is int and a.dtype.kind in "iu" and op not in _CMP:
            b = _wrapped(b, a.dtype)
        out = _BINARY[op](a, b)
        if out.dtype != a.dtype and op not in _CMP:
            out = out.astype(a.dtype)  # NOTE: NumPy may widen float16 ** int; PyTorch keeps a's dtype
        return out

    @staticmethod
    def binary_(op, out, b, alpha=1):
        """In place: out = out op (alpha * b)."""
        if alpha != 1:
            b = b * alpha
        if b.__class__ is int and out.dtype.kind in "iu":
            b = _wrapped(b, out.dtype)
        _BINARY[op](out, b, out, casting="unsafe")  # NOTE: `out` positional: NumPy parses it faster
        return out

    @staticmethod
    def rbinary(op, s, a):
        """scalar op a, for `2 - x`, `2 / x`, `2 ** x` (the scalar taken in a's dtype)."""
        if a.dtype.kind == "f" and s.__class__ in _FLOAT_SCALARS:
            return _BINARY[op](_scalar(s, a.dtype), a, out=_ARRAY)
        if s.__class__ is int and a.dtype.kind in "iu" and op not in _CMP:
            s = _wrapped(s, a.dtype)
        out = _BINARY[op](s, a)
        return out.astype(a.dtype) if out.dtype != a.dtype else out

    @staticmethod
    def where(cond, a, b):
        return np.where(cond, a, b)

    @staticmethod
    def clamp(a, lo, hi):
        out = a
        if lo is not None:
            out = np.maximum(out, lo)
        if hi is not None:
            out = np.minimum(out, hi)
        return out.astype(a.dtype, copy=False) if out is not a else out.copy()

    @staticmethod
    def index_backward(grad, shape, idx, dtype):
        """Zeros of `shape` and `dtype` with `grad` written at basic index `idx` (indexing's backward)."""
        out = np.zeros(shape, _np(dtype))
        out[idx] = grad  # NOTE: one setitem, where index() then copy_() would make a view first
        return out

    # Row-wise softmax (CrossEntropyLoss): the row max is subtracted first, so exp never overflows.
    @staticmethod
    def softmax(a, dim):
        e = np.exp(a - np.max(a, axis=dim, keepdims=True))
        return (e / e.sum(axis=dim, keepdims=True)).astype(a.dtype, copy=False)

    @staticmethod
    def log_softmax(a, dim):
        z = a - np.max(a, axis=dim, keepdims=True)
        return (z - np.log(np.exp(z).sum(axis=dim, keepdims=True))).astype(a.dtype, copy=False)

    @staticmethod
    def softmax_backward(grad, y, dim):
        """y * (grad - sum(grad * y)), y being softmax's output."""
        return (y * (grad - (grad * y).sum(axis=dim, keepdims=True))).astype(y.dtype, copy=False)

    @staticmethod
    def log_softmax_backward(grad, y, dim):
        """grad - exp(y) * sum(grad), y being log_softmax's output."""
        return (grad - np.exp(y) * grad.sum(axis=dim, keepdims=True)).astype(y.dtype, copy=False)

    @staticmethod
    def reduce(op, a, dims, keepdim):
        """sum / mean / amax / amin / all / any / prod over `dims` (a tuple; () means all)."""
        axis = dims if dims else None
        half = (op == "sum" or op == "mean") and a.dtype == np.float16  # NOTE: accumulated in float32, as PyTorch
        # NOTE: NumPy sums and multiplies unsigned integers in uint64, which has no tritongrad dtype: int64
        acc = np.float32 if half else np.int64 if a.dtype.kind == "u" and op in ("sum", "prod") else None
        out = _REDUCE[op](a, axis, acc, None, keepdim)  # NOTE: positional: faster
        if op == "mean":
            n = a.size if axis is None else math.prod(a.shape[d] for d in dims)
            out = np.true_divide(out, n, dtype=out.dtype)
        if half:
            out = out.astype(np.float16)
        return np.asarray(out)

    @staticmethod
    def arg_reduce(op, a, dim, keepdim):
        """argmax / argmin along one dim, int64 (first occurrence, NaN wins as in PyTorch)."""
        fn = np.argmax if op == "argmax" else np.argmin
        out = fn(a, axis=dim, keepdims=keepdim)
        return np.asarray(out, dtype=np.int64)

    matmul = staticmethod(_blas.matmul)  # NOTE: small products on one OpenBLAS thread (see _blas.py)

    # --- in place ------------------------------------------------------------------------------
    @staticmethod
    def fill_(a, value):
        a.fill(value)
        return a

    @staticmethod
    def copy_(dst, src):
        """dst[...] = src, broadcasting src and casting to dst's dtype; src may be a scalar."""
        dst[...] = src  # NOTE: casts as np.copyto(casting="unsafe") does, without its Python wrapper
        return dst

    # --- fused optimizer steps, in place on the parameter and its state (see kernels/optim.py) ---
    @staticmethod
    def sgd_step(p, g, buf, lr, momentum, dampening, nesterov, weight_decay, maximize, first):
        """p -= lr * d, d = ±g + weight_decay * p through the momentum buffer `buf` (None: no momentum);
        `first` makes buf = d (its first step)."""
        w = _up(p)
        d = -_up(g) if maximize else _up(g)
        if weight_decay:
            d = d + weight_decay * w
        if momentum:
            b = d if first else _up(buf) * momentum + (1 - dampening) * d
            np.copyto(buf, b, casting="unsafe")
            d = d + momentum * b if nesterov else b
        np.copyto(p, w - lr * d, casting="unsafe")
        return p

    @staticmethod
    def adam_step(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay, decoupled,
                  amsgrad, maximize):
        """One Adam (decoupled=False) or AdamW (decoupled=True) step in place; `step` counts from 1."""
        w = _up(p)
        d = -_up(g) if maximize else _up(g)
        if weight_decay:
            if decoupled:
                w = w * (1 - lr * weight_decay)
            else:
                d = d + weight_decay * w
        m = _up(exp_avg)
        m = m + (1 - beta1) * (d - m)  # NOTE: lerp, as PyTorch's exp_avg.lerp_(grad, 1 - beta1)
        v = _up(exp_avg_sq) * beta2 + (1 - beta2) * d * d
        np.copyto(exp_avg, m, casting="unsafe")
        np.copyto(exp_avg_sq, v, casting="unsafe")
        if amsgrad:
            v = np.maximum(_up(max_exp_avg_sq), v)
            np.copyto(max_exp_avg_sq, v, casting="unsafe")
        step_size = lr / (1 - beta1 ** step)
        bc2_sqrt = (1 - beta2 ** step) ** 0.5
        np.copyto(p, w - step_size * (m / (np.sqrt(v) / bc2_sqrt + eps)), casting="unsafe")
        return p


    # --- random numbers: PyTorch's CPU stream (tritongrad/_cpu_random.py) -----------------------
    @staticmethod
    def random_(a, kind, gen, *params):
        """Fill `a` in place with distribution `kind` (uniform lo hi, normal mean std, exponential
        lambd, randint low high, random, bernoulli p: a float or an array of a's shape); returns a."""
        from .. import _cpu_random

        _cpu_random.fill_(a, kind, gen, *params)
        return a

    @staticmethod
    def multinomial(p, k, replacement, gen):
        """k category indices per row of 2-D `p` (int64, rows x k)."""
        from .. import _cpu_random

        return _cpu_random.multinomial(gen, p, k, replacement)

    @staticmethod
    def randperm(n, gen):
        from .. import _cpu_random

        return _cpu_random.randperm(gen, n)

_BROADCAST_COPY_MAX = 4096  # elements: see broadcast()
_CMP = {p.name for p in PRIMITIVES if p.dtypes == "bool"}


# Fused elementwise backward primitives and the other rows that give one: the primitive list's NumPy
# implementations, as they are.
for _p in PRIMITIVES:
    if _p.kind in ("backward", "method") and _p.numpy is not None:
        setattr(CPUBackend, _p.name, staticmethod(_p.numpy))

_SCALARS = {}  # (type, value, dtype) -> 0-d array: NumPy takes a Python scalar much more slowly than an array
_FLOAT_SCALARS = (int, float)  # NOTE: exact classes: bool and NumPy scalars keep NumPy's own promotion


def _scalar(value, dtype):
    """A Python int or float as a read-only 0-d array of the float `dtype`: for `array op scalar`, the
    value NumPy 2 itself would use (NEP 50 casts a Python scalar to the array's dtype)."""
    key = (value.__class__, value if value else repr(value), dtype)  # NOTE: -0.0 == 0.0, and its sign matters
    arr = _SCALARS.get(key)
    if arr is None:
        arr = np.asarray(value, dtype)
        arr.flags.writeable = False
        if len(_SCALARS) < 1024:  # NOTE: bounded: NaNs never hit (nan != nan) and loops may use many values
            _SCALARS[key] = arr
    return arr


def _wrapped(value, dtype):
    """A Python int operand of an integer array, wrapped into its dtype (two's complement) when outside its
    range, as PyTorch casts it (uint8 - 3 adds 253): NumPy 2 raises OverflowError there, NumPy 1.26
    widens the result instead. In range, the value itself (NumPy keeps the array's dtype for it)."""
    bounds = _INT_RANGE.get(dtype)
    if bounds is None:
        info = np.iinfo(dtype)
        bounds = _INT_RANGE[dtype] = (int(info.min), int(info.max))
    return value if bounds[0] <= value <= bounds[1] else np.array(value).astype(dtype)


_INT_RANGE = {}  # integer dtype -> (min, max)


def _up(a):
    """float16 as float32 for the optimizer steps: the CUDA kernels compute in fp32 too."""
    return a.astype(np.float32) if a.dtype == np.float16 else a


# --- indexing primitives (the rows after adam_step): cpu_nn.py's references and their compositions ---
def _index_select_backward(grad, shape, dim, index, wrap=False):
    return _nn.index_add_(np.zeros(shape, grad.dtype), dim, index, grad, 1, wrap, None, False)


def _index_put(a, dim, index, values, accumulate=False, wrap=False, check=True):
    if accumulate:
        return _nn.index_add_(a.copy(), dim, index, values, 1, wrap, None, check)
    return _nn.index_copy_(a.copy(), dim, index, values, wrap, check)


def _gather_backward(grad, shape, dim, index):
    return _nn.scatter_(np.zeros(shape, grad.dtype), dim, index, grad, "add", False)


def _scatter(a, dim, index, src, reduce=None, check=True):
    return _nn.scatter_(a.copy(), dim, index, src, reduce, check)


def _index_term(index, dim, size, stride, acc=None, check=True):
    term = _nn._checked("index", index, dim, size, True, check) * stride
    return term if acc is None else acc + term


def _nonzero(a):
    return np.flatnonzero(a)


def _unravel(flat, shape):
    return np.stack(np.unravel_index(flat, shape), 1) if shape else np.zeros((flat.shape[0], 0), np.int64)


def _as_strided(a, shape, strides, offset=0):
    it = a.itemsize
    start = np.lib.stride_tricks.as_strided(a, (1,), (it,)) if offset == 0 else (
        np.lib.stride_tricks.as_strided(a, (offset + 1,), (it,))[offset:] if offset > 0 else
        np.lib.stride_tricks.as_strided(a, (-offset + 1,), (-it,))[-offset:])
    return np.lib.stride_tricks.as_strided(start, tuple(shape), tuple(s * it for s in strides))


def _tril(a, diagonal=0, upper=False):
    return np.triu(a, diagonal) if upper else np.tril(a, diagonal)


def _flip(a, dims):
    return np.flip(a, dims).copy()


def _roll(a, shifts, dims):
    return np.roll(a, shifts, dims)


def _diagonal(a, offset=0):
    """The `offset` diagonal of the 2-d `a`, a new 1-d array."""
    return np.diagonal(a, offset).copy()


def _diag_embed(v, offset, shape):
    """Zeros of the 2-d `shape` with the 1-d `v` on its `offset` diagonal."""
    out = np.zeros(shape, v.dtype)
    if v.size:
        r, c = (0, offset) if offset >= 0 else (-offset, 0)
        out[np.arange(v.size) + r, np.arange(v.size) + c] = v
    return out


def _cat(arrays, dim):
    return np.concatenate(arrays, dim)


def _masked_fill_(out, mask, value):
    np.copyto(out, value, "unsafe", mask)
    return out


from . import cpu_nn as _nn  # noqa: E402

for _name, _fn in dict(
        index_select=_nn.index_select, index_select_backward=_index_select_backward, index_put=_index_put,
        gather=_nn.gather, gather_backward=_gather_backward, scatter=_scatter, index_add_=_nn.index_add_,
        index_copy_=_nn.index_copy_, scatter_=_nn.scatter_, index_term=_index_term, nonzero=_nonzero,
        unravel=_unravel, as_strided=_as_strided, tril=_tril, flip=_flip, roll=_roll, diagonal=_diagonal,
        diag_embed=_diag_embed, cat=_cat, masked_fill_=_masked_fill_).items():
    setattr(CPUBackend, _name, staticmethod(_fn))
# --- transformer layers (ops/nn.py): the NumPy references of backends/cpu_nn.py, in the CUDA signatures ----
for _name, _fn in dict(
        embedding=_nn.embedding, embedding_backward=_nn.embedding_backward,
        layer_norm=lambda x, normalized_shape, weight, bias, eps: _nn.layer_norm_fwd(x, normalized_shape, weight,
                                                                                     bias, eps),
        layer_norm_backward=lambda grad, x, mean, rstd, weight, bias, eps: _nn.layer_norm_bwd(grad, x, mean, rstd,
                                                                                              weight, bias),
        attention=lambda q, k, v, mask, is_causal, scale: _nn.attention_fwd(q, k, v, mask, is_causal, scale),
        attention_backward=lambda grad, q, k, v, o, lse, mask, is_causal, scale: _nn.attention_bwd(
            grad, q, k, v, o, lse, mask, is_causal, scale),
        attention_unsupported=lambda q, k, v, mask: None,  # NOTE: the NumPy reference takes every call ops/nn.py makes
).items():
    setattr(CPUBackend, _name, staticmethod(_fn))

"""Elementwise kernels: unary, binary (NumPy broadcasting through strides), where, clamp, fused
backward ops, fill, strided copy with casts (also `contiguous` and `astype`), arange.

Every kernel here walks one flat index range over a (collapsed) shape of at most MAX_DIMS dims and
reads each operand through its own strides (0 along broadcast dims), so one kernel serves
contiguous, transposed, sliced and broadcast operands; the contiguous case collapses to one dim of
stride 1, which Triton specializes into vectorized loads. Outputs are new C-contiguous arrays
except for the in-place wrappers (`binary_`, `fill_`, `copy_`), whose destination may be any view.

NOTE: fp16 / bf16 compute in fp32, float64 in fp64, integers in their own type (wrapping as
NumPy does); bool in int8, stored back as != 0.
"""
import math

import numpy as np
import triton
import triton.language as tl

from .._dtype import bool_, float64, int64
from ..backends import primitives as P
from . import _utils as U
from ._launch import fast
from .pointwise import (
    _backward_op,
    _binary_op,
    _down,
    _flat_index,
    _powi,
    _scalar,
    _scalar_like,
    _strided,
    _unary_op,
    _up,
)

# NOTE: the op sets come from the primitive list: a new row there needs its branch here, nothing else
UNARY_OPS = P.names("unary")
FLOAT_UNARY = set(P.names("unary", "float"))
BINARY_OPS = P.names("binary")
BOOL_RESULT = {p.name for p in P.PRIMITIVES if p.dtypes == "bool"}
BACKWARD_OPS = P.names("backward")  # fused elementwise backward: pointwise_bwd_kernel's OP, less "_backward"

# b operand of binary_fwd_kernel
_B_TENSOR, _B_ALPHA, _B_SCALAR, _B_LEFT_SCALAR = 0, 1, 2, 3


# ----------------------------------------------------------------------------------------------------
# kernels
# ----------------------------------------------------------------------------------------------------
_DNS = ["S1", "S2", "S3"]  # NOTE: sizes are not specialized: fewer compiled variants, no loss


@triton.jit(do_not_specialize=_DNS + ["k", "nbits"])
def unary_fwd_kernel(x_ptr, out_ptr, k: tl.int64, nbits: tl.int32, n, S1, S2, S3, X0, X1, X2, X3, O0, O1, O2, O3,
                     OP: tl.constexpr, NDIM: tl.constexpr, I64: tl.constexpr, BLOCK: tl.constexpr):
    """out = OP(x) elementwise; OP == "powi" is x ** k for an integer scalar k, |k| < 2**nbits."""
    idx = _flat_index(BLOCK, I64)
    mask = idx < n
    x = _up(tl.load(x_ptr + _strided(idx, S1, S2, S3, X0, X1, X2, X3, NDIM), mask=mask))
    if OP == "powi":
        y = _powi(x, k, nbits)
    else:
        y = _unary_op(x, OP)
    tl.store(out_ptr + _strided(idx, S1, S2, S3, O0, O1, O2, O3, NDIM), _down(y, out_ptr.dtype.element_ty),
             mask=mask)


@triton.jit(do_not_specialize=_DNS + ["sf", "si"])
def binary_fwd_kernel(a_ptr, b_ptr, out_ptr, sf: tl.float64, si: tl.int64, n, S1, S2, S3, A0, A1, A2, A3,
                      B0, B1, B2, B3, O0, O1, O2, O3, OP: tl.constexpr, B_MODE: tl.constexpr, NDIM: tl.constexpr,
                      I64: tl.constexpr, BLOCK: tl.constexpr):
    """out = a OP b with broadcasting through strides.

    B_MODE: 0 b is a tensor; 1 b is a tensor scaled by the scalar (sf, si) (`alpha`);
    2 b is the scalar; 3 the scalar is the left operand (s OP a).
    """
    idx = _flat_index(BLOCK, I64)
    mask = idx < n
    a = _up(tl.load(a_ptr + _strided(idx, S1, S2, S3, A0, A1, A2, A3, NDIM), mask=mask))
    if B_MODE <= 1:
        b = _up(tl.load(b_ptr + _strided(idx, S1, S2, S3, B0, B1, B2, B3, NDIM), mask=mask))
        if B_MODE == 1:
            b = b * _scalar_like(sf, si, b_ptr)
    else:
        # NOTE: splat to the block: the interpreter cannot mix 0-d and block masks in `|`
        b = tl.full([BLOCK], _scalar_like(sf, si, a_ptr), a.dtype)
    if B_MODE == 3:
        y = _binary_op(b, a, OP)
    else:
        y = _binary_op(a, b, OP)
    tl.store(out_ptr + _strided(idx, S1, S2, S3, O0, O1, O2, O3, NDIM), _down(y, out_ptr.dtype.element_ty),
             mask=mask)


@triton.jit(do_not_specialize=_DNS)
def where_fwd_kernel(c_ptr, a_ptr, b_ptr, out_ptr, n, S1, S2, S3, C0, C1, C2, C3, A0, A1, A2, A3,
                     B0, B1, B2, B3, O0, O1, O2, O3, NDIM: tl.constexpr, I64: tl.constexpr, BLOCK: tl.constexpr):
    """out = a where c else b (c of any dtype: nonzero is true)."""
    idx = _flat_index(BLOCK, I64)
    mask = idx < n
    c = tl.load(c_ptr + _strided(idx, S1, S2, S3, C0, C1, C2, C3, NDIM), mask=mask)
    a = tl.load(a_ptr + _strided(idx, S1, S2, S3, A0, A1, A2, A3, NDIM), mask=mask)
    b = tl.load(b_ptr + _strided(idx, S1, S2, S3, B0, B1, B2, B3, NDIM), mask=mask)
    tl.store(out_ptr + _strided(idx, S1, S2, S3, O0, O1, O2, O3, NDIM), tl.where(c != 0, a, b), mask=mask)


@triton.jit(do_not_specialize=_DNS + ["lof", "loi", "hif", "hii"])
def clamp_fwd_kernel(x_ptr, out_ptr, lof: tl.float64, loi: tl.int64, hif: tl.float64, hii: tl.int64, n, S1, S2, S3,
                     X0, X1, X2, X3, O0, O1, O2, O3, HAS_LO: tl.constexpr, HAS_HI: tl.constexpr,
                     NDIM: tl.constexpr, I64: tl.constexpr, BLOCK: tl.constexpr):
    """out = min(max(x, lo), hi), either bound optional; NaN in x stays NaN."""
    idx = _flat_index(BLOCK, I64)
    mask = idx < n
    y = _up(tl.load(x_ptr + _strided(idx, S1, S2, S3, X0, X1, X2, X3, NDIM), mask=mask))
    if HAS_LO:
        lo = _scalar_like(lof, loi, x_ptr)
        y = tl.where(y < lo, lo, y)
        y = tl.where(lo != lo, lo, y)  # NOTE: a NaN bound gives NaN, as PyTorch's
    if HAS_HI:
        hi = _scalar_like(hif, hii, x_ptr)
        y = tl.where(y > hi, hi, y)
        y = tl.where(hi != hi, hi, y)
    tl.store(out_ptr + _strided(idx, S1, S2, S3, O0, O1, O2, O3, NDIM), _down(y, out_ptr.dtype.element_ty),
             mask=mask)


@triton.jit(do_not_specialize=_DNS + ["p", "q", "k", "nbits"])
def pointwise_bwd_kernel(g_ptr, x_ptr, out_ptr, p: tl.float64, q: tl.float64, k: tl.int64, nbits: tl.int32, n,
                         S1, S2, S3, G0, G1, G2, G3, X0, X1, X2, X3, O0, O1, O2, O3, OP: tl.constexpr,
                         HAS_P: tl.constexpr, HAS_Q: tl.constexpr, NDIM: tl.constexpr, I64: tl.constexpr,
                         BLOCK: tl.constexpr):
    """Fused backward of a pointwise op, one pass over grad g and the saved x (or output y): see
    pointwise._backward_op (p, q: its scalar parameters; k, nbits: an integer exponent's)."""
    idx = _flat_index(BLOCK, I64)
    mask = idx < n
    g = _up(tl.load(g_ptr + _strided(idx, S1, S2, S3, G0, G1, G2, G3, NDIM), mask=mask))
    x = _up(tl.load(x_ptr + _strided(idx, S1, S2, S3, X0, X1, X2, X3, NDIM), mask=mask))
    out = _backward_op(g, x, p, _scalar_like(p, 0, x_ptr), _scalar_like(q, 0, x_ptr), k, nbits, OP, HAS_P, HAS_Q,
                       BLOCK)
    tl.store(out_ptr + _strided(idx, S1, S2, S3, O0, O1, O2, O3, NDIM), out.to(out_ptr.dtype.element_ty),
             mask=mask)


@triton.jit(do_not_specialize=_DNS + ["vf", "vi"])
def fill_kernel(out_ptr, vf: tl.float64, vi: tl.int64, n, S1, S2, S3, O0, O1, O2, O3, NDIM: tl.constexpr,
                I64: tl.constexpr, BLOCK: tl.constexpr):
    """out[...] = value (out may be any strided view)."""
    idx = _flat_index(BLOCK, I64)
    v = _scalar(vf, vi, out_ptr.dtype.element_ty)
    tl.store(out_ptr + _strided(idx, S1, S2, S3, O0, O1, O2, O3, NDIM), tl.full([BLOCK], v, v.dtype),
             mask=idx < n)


@triton.jit(do_not_specialize=_DNS)
def copy_kernel(src_ptr, dst_ptr, n, S1, S2, S3, X0, X1, X2, X3, O0, O1, O2, O3, NDIM: tl.constexpr,
                I64: tl.constexpr, BLOCK: tl.constexpr):
    """dst[...] = src, both strided (src may broadcast), cast to dst's dtype."""
    idx = _flat_index(BLOCK, I64)
    mask = idx < n
    x = tl.load(src_ptr + _strided(idx, S1, S2, S3, X0, X1, X2, X3, NDIM), mask=mask)
    if x.dtype != dst_ptr.dtype.element_ty:
        if x.dtype == tl.bfloat16 or x.dtype == tl.float16:
            x = x.to(tl.float32)  # NOTE: from half types through fp32 only
        x = _down(x, dst_ptr.dtype.element_ty)
    tl.store(dst_ptr + _strided(idx, S1, S2, S3, O0, O1, O2, O3, NDIM), x, mask=mask)


@triton.jit(do_not_specialize=["sf", "stepf", "si", "stepi"])
def arange_kernel(out_ptr, sf: tl.float64, stepf: tl.float64, si: tl.int64, stepi: tl.int64, n, BLOCK: tl.constexpr):
    """out[i] = start + i * step (in fp64 for floats, int64 for integers), i < n."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    dtype = out_ptr.dtype.element_ty
    if dtype.is_floating():
        v = tl.full((), sf, tl.float64) + idx.to(tl.float64) * tl.full((), stepf, tl.float64)
    else:
        v = tl.full((), si, tl.int64) + idx * tl.full((), stepi, tl.int64)
    tl.store(out_ptr + idx, _down(v, dtype), mask=idx < n)


# ----------------------------------------------------------------------------------------------------
# launch wrappers
# ----------------------------------------------------------------------------------------------------
def _launch(kernel, shape, arrays, scalars=(), zero=None, **meta):
    """Launch a strided kernel over `shape`: pointers `arrays` (output last), then `scalars`."""
    if U.numel(shape) == 0:
        return
    for deltas, grid, args, nd_meta in U.plan(shape, arrays, zero):
        arrs = arrays if deltas is None else [
            U.DeviceArray(a.buf, a.offset + d, a.shape, a.strides, a.dtype) for a, d in zip(arrays, deltas)]
        fast(kernel)[grid](*arrs, *scalars, *args, num_warps=4, **nd_meta, **meta)


def _check_float(op, dtype):
    if dtype not in U.FLOATS:
        raise TypeError(f"{op} needs a floating-point array, got {dtype.name}")


def unary_fwd(op, a):
    """out = op(a) for op in UNARY_OPS (float-only ops need a float a); bool out for logical_not."""
    if op not in UNARY_OPS:
        raise ValueError(f"unknown unary op {op!r}")
    if op in FLOAT_UNARY:
        _check_float(op, a.dtype)
    out = U.empty(a.shape, bool_ if op in BOOL_RESULT else a.dtype)
    _launch(unary_fwd_kernel, a.shape, [a, out], (0, 0), OP=op)
    return out


def _int_exponent(e):
    """(k, nbits) if e is an integer exponent worth squaring for, else None."""
    if isinstance(e, bool) or not math.isfinite(e) or float(e) != int(e) or abs(int(e)) >= 2**16:
        return None
    k = int(e)
    return k, max(abs(k).bit_length(), 1)


def _binary(op, a, b, alpha, out, mode_left=False):
    if op not in BINARY_OPS:
        raise ValueError(f"unknown binary op {op!r}")
    shape = out.shape
    if isinstance(b, U.DeviceArray):
        mode = _B_TENSOR if alpha == 1 else _B_ALPHA
        sf, si = U.scalar_args(alpha, b.dtype)
        ops = [a, b, out]
    else:
        if alpha != 1:
            b = b * alpha
        if op == "pow" and not mode_left and _int_exponent(b) and a.dtype is not bool_:
            k, nbits = _int_exponent(b)
            _launch(unary_fwd_kernel, shape, [a, out], (k, nbits), OP="powi")
            return out
        mode = _B_LEFT_SCALAR if mode_left else _B_SCALAR
        sf, si = U.scalar_args(b, a.dtype)
        ops = [a, a, out]
    zero = None if mode <= _B_ALPHA else 1  # NOTE: b's pointer is unused: read with zero strides
    _launch(binary_fwd_kernel, shape, ops, (sf, si), zero=zero, OP=op, B_MODE=mode)
    return out


def _scalar_fits(s, dtype):
    """Whether a Python scalar keeps its value in `dtype` (else comparisons must widen)."""
    if dtype in U.FLOATS or isinstance(s, bool):
        return True
    if dtype is bool_:
        return s in (0, 1)
    info = np.iinfo(dtype.np)
    return float(s) == int(s) and info.min <= s <= info.max


def binary_fwd(op, a, b, alpha=1):
    """out = a op (alpha * b), broadcast; b may be a Python scalar. Comparisons give bool.

    a and an array b share one dtype (ops promote first); integer `div` must be promoted too.
    """
    if op == "div" and a.dtype not in U.FLOATS:
        raise TypeError(f"div needs floating-point arrays (promote first), got {a.dtype.name}")
    if not isinstance(b, U.DeviceArray) and op in BOOL_RESULT and not _scalar_fits(b, a.dtype):
        a = astype(a, float64 if isinstance(b, float) else int64)  # NOTE: 2 < 2.5 on an int array
    shape = a.shape if not isinstance(b, U.DeviceArray) else U.broadcast_shapes(a.shape, b.shape)
    return _binary(op, a, b, alpha, U.empty(shape, bool_ if op in BOOL_RESULT else a.dtype))


def rbinary_fwd(op, s, a):
    """out = s op a for a Python scalar s (`2 - x`, `2 / x`, `2 ** x`)."""
    if op == "div" and a.dtype not in U.FLOATS:
        raise TypeError(f"div needs floating-point arrays (promote first), got {a.dtype.name}")
    if op in BOOL_RESULT and not _scalar_fits(s, a.dtype):
        a = astype(a, float64 if isinstance(s, float) else int64)
    return _binary(op, a, s, 1, U.empty(a.shape, bool_ if op in BOOL_RESULT else a.dtype), mode_left=True)


def binary_(op, out, b, alpha=1):
    """In place: out = out op (alpha * b), b broadcast to out's shape; out may be any view.

    NOTE: b must not overlap out other than element for element (as PyTorch requires).
    """
    if isinstance(b, U.DeviceArray) and U.broadcast_shapes(out.shape, b.shape) != tuple(out.shape):
        raise ValueError(f"output with shape {list(out.shape)} doesn't match the broadcast shape "
                         f"{list(U.broadcast_shapes(out.shape, b.shape))}")
    return _binary(op, out, b, alpha, out)


def _as_array(v, like):
    if isinstance(v, U.DeviceArray):
        return v
    return full((), v, like.dtype if isinstance(like, U.DeviceArray) else U.float32)


def where_fwd(cond, a, b):
    """out = a where cond else b, broadcast; a or b may be a Python scalar (takes the other's dtype)."""
    a, b = _as_array(a, b), _as_array(b, a)
    b = b if b.dtype is a.dtype else astype(b, a.dtype)
    shape = U.broadcast_shapes(cond.shape, a.shape, b.shape)
    out = U.empty(shape, a.dtype)
    _launch(where_fwd_kernel, shape, [cond, a, b, out])
    return out


def clamp_fwd(a, lo, hi):
    """out = min(max(a, lo), hi); lo / hi are Python scalars or None (arrays: maximum / minimum)."""
    if isinstance(lo, U.DeviceArray) or isinstance(hi, U.DeviceArray):
        out = a if lo is None else binary_fwd("maximum", a, lo)
        out = out if hi is None else binary_fwd("minimum", out, hi)
        return copy(a) if out is a else out
    out = U.empty(a.shape, a.dtype)
    lof, loi = U.scalar_args(0 if lo is None else lo, a.dtype)
    hif, hii = U.scalar_args(0 if hi is None else hi, a.dtype)
    _launch(clamp_fwd_kernel, a.shape, [a, out], (lof, loi, hif, hii),
            HAS_LO=lo is not None, HAS_HI=hi is not None)
    return out


def pointwise_bwd(op, grad, x, *params):
    """The fused backward primitive `op` (a "backward" row of the primitive list, e.g.
    "sigmoid_backward"): one pass over grad and the saved x; see pointwise_bwd_kernel."""
    p = q = None
    k = nbits = 0
    if op == "clamp_backward":
        p, q = params
    elif op == "pow_backward":
        (p,) = params
        if p == 0:
            return full(U.broadcast_shapes(grad.shape, x.shape), 0, grad.dtype)
        e = _int_exponent(p - 1)
        if e:
            k, nbits = e
    elif params:
        (p,) = params
    shape = U.broadcast_shapes(grad.shape, x.shape)
    out = U.empty(shape, grad.dtype)
    _launch(pointwise_bwd_kernel, shape, [grad, x, out],
            (0.0 if p is None else float(p), 0.0 if q is None else float(q), k, nbits), OP=op[:-len("_backward")],
            HAS_P=p is not None, HAS_Q=q is not None or nbits > 0)
    return out


def fill_(a, value):
    """a[...] = value, for any view `a`."""
    vf, vi = U.scalar_args(value, a.dtype)
    _launch(fill_kernel, a.shape, [a], (vf, vi))
    return a


def full(shape, value, dtype):
    return fill_(U.empty(shape, dtype), value)


def copy_(dst, src):
    """dst[...] = src, src broadcast to dst's shape and cast to its dtype; src may be a scalar."""
    if not isinstance(src, U.DeviceArray):
        return fill_(dst, src)
    _launch(copy_kernel, dst.shape, [src, dst])
    return dst


def copy(a, dtype=None):
    """A new C-contiguous array with a's values (cast to `dtype`)."""
    return copy_(U.empty(a.shape, dtype or a.dtype), a)


def contiguous(a):
    return a if a.is_contiguous() else copy(a)


def astype(a, dtype):
    return copy(a, dtype)


def arange(start, end, step, dtype):
    """[start, start + step, ...) up to end, as np.arange (length ceil((end - start) / step))."""
    if step == 0:
        raise ValueError("step must be nonzero")
    if all(isinstance(v, int) for v in (start, end, step)):
        n = max(0, -(-(end - start) // step))
    else:
        n = max(0, math.ceil((end - start) / step))
    out = U.empty((n,), dtype)
    if n:
        block = U.block_for(n)
        fast(arange_kernel)[(U.cdiv(n, block),)](out, float(start), float(step), int(start), int(step), n, BLOCK=block)
    return out

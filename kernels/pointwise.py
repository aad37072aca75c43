"""The elementwise math of the Triton kernels: one branch per primitive of the primitive list
(tritongrad/backends/primitives.py), selected by a constexpr OP. kernels/elementwise.py walks the
(strided) elements and calls these; adding an elementwise op is adding its branch here.

NOTE: fp16 / bf16 compute in fp32, float64 in fp64, integers in their own type (wrapping as
NumPy does); bool in int8, stored back as != 0.
"""
import triton
import triton.language as tl

from . import _utils as U
from .mathfn import _atan2, _expm1, _math_unary, _sqrt

_INTERPRET = tl.constexpr(U.INTERPRET)


# ----------------------------------------------------------------------------------------------------
# jit helpers
# ----------------------------------------------------------------------------------------------------
@triton.jit
def _flat_index(BLOCK: tl.constexpr, I64: tl.constexpr):
    # NOTE: int64 whenever a flat index or an offset could pass 2**31 (decided by the wrapper).
    if I64:
        offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    else:
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    return offs


@triton.jit
def _strided(idx, S1, S2, S3, T0, T1, T2, T3, NDIM: tl.constexpr):
    """Element offset of row-major index `idx` over shape (S0, S1, S2, S3)[4 - NDIM:], strides T."""
    if NDIM == 1:
        off = idx * T3
    else:
        off = (idx % S3) * T3
        idx = idx // S3
        if NDIM == 2:
            off += idx * T2
        else:
            off += (idx % S2) * T2
            idx = idx // S2
            if NDIM == 3:
                off += idx * T1
            else:
                off += (idx % S1) * T1 + (idx // S1) * T0
    return off


@triton.jit
def _up(x):
    """Compute type of a loaded value: fp32 for fp16 / bf16, int8 for bool, else itself."""
    y = x
    if x.dtype == tl.float16 or x.dtype == tl.bfloat16:
        y = x.to(tl.float32)
    elif x.dtype == tl.int1:
        y = x.to(tl.int8)
    return y


@triton.jit
def _down(y, dtype: tl.constexpr):
    """Cast a computed value to a storage dtype; float -> integer goes through int64 as NumPy does."""
    if dtype.is_int() and not dtype.is_int1() and y.dtype.is_floating():
        y = y.to(tl.int64)
    elif (dtype == tl.bfloat16 or dtype == tl.float16) and y.dtype != dtype and y.dtype != tl.float32:
        y = y.to(tl.float32)  # NOTE: to half types from fp32 only (fp64 / integers: not everywhere)
    if _INTERPRET and dtype == tl.bfloat16 and y.dtype == tl.float32:
        # NOTE: Triton's interpreter truncates fp32 -> bf16; the GPU rounds to nearest even: do that
        b = y.to(tl.uint32, bitcast=True)
        b = tl.where(y != y, b | 0x400000, b + 0x7FFF + ((b >> 16) & 1))
        return (b >> 16).to(tl.uint16).to(tl.bfloat16, bitcast=True)
    return y.to(dtype)


@triton.jit
def _scalar(sf, si, dtype: tl.constexpr):
    """A kernel's scalar argument pair (fp64 `sf`, int64 `si`) as a 0-d value of `dtype`."""
    if dtype == tl.bfloat16:
        v = _down(tl.full((), sf, tl.float32), tl.bfloat16)  # NOTE: rounded to nearest, interpreter too
    elif dtype.is_floating():
        v = tl.full((), sf, dtype)
    else:
        v = tl.full((), si, dtype)
    return v


@triton.jit
def _scalar_like(sf, si, ptr):
    """The scalar in the compute type of ptr's elements, rounded to their storage type first.

    NOTE: as NumPy's (and the CPU backend's) weak Python scalars: float16 x == 1.7 compares
    against float16(1.7), not against 1.7 in fp32.
    """
    return _up(_scalar(sf, si, ptr.dtype.element_ty))


@triton.jit
def _nan():
    # NOTE: from bits, not a NaN global: Triton checks globals for changes with ==, and NaN != NaN
    return tl.full((), 0x7FC00000, tl.uint32).to(tl.float32, bitcast=True)


@triton.jit
def _isnan(x):
    return x != x


@triton.jit
def _tanh(x):
    ax = tl.abs(x)
    # NOTE: exp of a non-positive number only (no overflow); the polynomial near 0 avoids the
    # cancellation in 1 - e that would cost relative accuracy for small |x|.
    e = tl.exp(-2.0 * ax)
    big = (1.0 - e) / (1.0 + e)
    t = x * x
    p = -0.00023912911424355248 * t + 0.000590027440945586
    p = p * t - 0.0014558343870513183
    p = p * t + 0.003592128036572481
    p = p * t - 0.008863235529902197
    p = p * t + 0.021869488536155203
    p = p * t - 0.05396825396825397
    p = p * t + 0.13333333333333333
    p = p * t - 0.3333333333333333
    p = p * t + 1.0
    return tl.where(ax < 0.25, x * p, tl.where(x < 0, -big, big))


@triton.jit
def _sigmoid(x):
    # NOTE: exp of a non-positive number only, so large |x| never overflows.
    e = tl.exp(-tl.abs(x))
    return tl.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


@triton.jit
def _powf(x, y):
    """x ** y for floats, as C's pow: negative x needs an integer y (sign from its parity)."""
    r = tl.exp2(y * tl.log2(tl.abs(x)))
    y_int = tl.floor(y) == y
    y_odd = y_int & (tl.floor(y * 0.5) * 2.0 != y)
    neg = tl.where(x == 0, 1.0 / x < 0, x < 0)  # NOTE: -0.0 counts as negative (C's pow(-0.0, 3) is -0.0)
    edge = (x == 0) | (tl.abs(x) == float("inf"))  # -0.0 and -inf to a non-integer power: C's +0 / +inf, not NaN
    r = tl.where(neg, tl.where(y_int, tl.where(y_odd, -r, r), tl.where(edge, r, _nan())), r)
    return tl.where((y == 0) | (x == 1), 1.0, r)


@triton.jit
def _powi(x, k, nbits):
    """x ** k for a scalar integer k with |k| < 2**nbits, by squaring (exact for integers)."""
    kk = tl.abs(k)
    r = tl.zeros_like(x) + 1
    b = x
    for i in range(nbits):
        r = tl.where(((kk >> i) & 1) == 1, r * b, r)
        b = b * b
    if x.dtype.is_floating():
        r = tl.where(k < 0, 1.0 / r, r)
    else:
        r = tl.where(k < 0, _int_neg_pow(x, (kk & 1) == 1), r)
    return r


@triton.jit
def _int_neg_pow(x, odd):
    """integer x ** (negative): only 1 and -1 are not 0 (PyTorch's answer; NumPy raises)."""
    if x.dtype.is_int_unsigned():
        r = (x == 1).to(x.dtype)
    else:
        r = tl.where(x == 1, 1, tl.where(x == -1, tl.where(odd, -1, 1), 0)).to(x.dtype)
    return r


@triton.jit
def _powi_tensor(x, y):
    """x ** y elementwise for integer tensors (wrapping like NumPy; negative y as in _powi)."""
    yy = tl.abs(y)
    r = tl.zeros_like(x) + 1
    b = x
    for i in range(x.dtype.primitive_bitwidth - 1):  # NOTE: never shift by the full bit width
        r = tl.where(((yy >> i) & 1) == 1, r * b, r)
        b = b * b
    if x.dtype.is_int_signed():
        r = tl.where(y < 0, _int_neg_pow(x, (yy & 1) == 1), r)
    return r


@triton.jit
def _unary_op(x, OP: tl.constexpr):
    if OP == "neg":
        y = -x
    elif OP == "exp":
        y = tl.exp(x)
    elif OP == "log":
        y = tl.log(x)
    elif OP == "sqrt":
        y = _sqrt(x)
    elif OP == "abs":
        y = tl.abs(x)
    elif OP == "sign":
        if x.dtype.is_floating():
            y = tl.where(x > 0, 1.0, tl.where(x < 0, -1.0, 0.0)).to(x.dtype)  # NOTE: sign(nan) is 0, as in PyTorch
        else:
            y = (x > 0).to(x.dtype) - (x < 0).to(x.dtype)
    elif OP == "square":
        y = x * x
    elif OP == "sin":
        y = tl.sin(x)
    elif OP == "cos":
        y = tl.cos(x)
    elif OP == "reciprocal":
        y = 1.0 / x
    elif OP == "tanh":
        y = _tanh(x)
    elif OP == "relu":
        y = tl.where(x < 0, 0, x).to(x.dtype)  # NOTE: NaN stays NaN, as np.maximum(x, 0)
    elif OP == "sigmoid":
        y = _sigmoid(x)
    elif OP == "log1p":
        # NOTE: log(u) * x / (u - 1) with u = 1 + x cancels u's rounding error (Goldberg): accurate near 0
        u = 1.0 + x
        y = tl.where((u == 1.0) | (x == float("inf")), x, tl.log(u) * (x / (u - 1.0)))
    elif OP == "expm1":
        y = _expm1(x)
    elif OP == "gelu":
        y = 0.5 * x * (1.0 + tl.erf(x * 0.7071067811865476))
    elif OP == "gelu_tanh":
        y = 0.5 * x * (1.0 + _tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
    elif OP == "logical_not":
        y = x == 0
    else:
        y = _math_unary(x, OP)
    return y


@triton.jit
def _divmod(a, b, OP: tl.constexpr):
    """remainder (the divisor's sign), fmod (the dividend's), a / b rounded toward -inf (div_floor) or 0
    (div_trunc): PyTorch's formulas. `%` and `//` are C's here (frem / srem, sdiv). NOTE: an integer
    division by zero raises on the CPU; a kernel cannot, so it divides by 1 instead (PyTorch's CUDA
    kernels give an unspecified value there)."""
    if a.dtype.is_floating():
        m = a % b
        if OP == "fmod":
            y = m
        elif OP == "remainder":
            y = tl.where((m != 0) & ((b < 0) != (m < 0)), m + b, m)
        elif OP == "div_trunc":
            q = a / b
            y = tl.where(q < 0, tl.ceil(q), tl.floor(q))
        else:  # div_floor: PyTorch's div_floor_floating
            d = (a - m) / b
            d = tl.where((m != 0) & ((b < 0) != (m < 0)), d - 1, d)
            f = tl.floor(d)
            f = tl.where(d - f > 0.5, f + 1, f)
            q = a / b
            y = tl.where(b == 0, q, tl.where(d != 0, f, q * 0.0))  # NOTE: a zero takes the sign of a / b
    else:
        b = tl.where(b == 0, 1, b).to(b.dtype)
        m = a % b
        fix = (m != 0) & ((m < 0) != (b < 0))
        if OP == "fmod":
            y = m
        elif OP == "remainder":
            y = tl.where(fix, m + b, m)
        elif OP == "div_trunc":
            y = a // b
        else:
            y = tl.where(fix, a // b - 1, a // b)
    return y


@triton.jit
def _binary_op(a, b, OP: tl.constexpr):
    if OP == "add":
        y = a + b
    elif OP == "sub":
        y = a - b
    elif OP == "mul":
        y = a * b
    elif OP == "div":
        if a.dtype.is_floating():
            y = a / b
        else:  # NOTE: only in place (binary_): true division, truncated into the integer output
            y = a.to(tl.float64) / b.to(tl.float64)
    elif OP == "pow":
        if a.dtype.is_floating():
            y = _powf(a, b)
        else:
            y = _powi_tensor(a, b)
    elif OP == "maximum":
        y = tl.where((a > b) | _isnan(a), a, b)  # NOTE: NaN propagates from either side
    elif OP == "minimum":
        y = tl.where((a < b) | _isnan(a), a, b)
    elif OP == "eq":
        y = a == b
    elif OP == "ne":
        y = a != b
    elif OP == "lt":
        y = a < b
    elif OP == "le":
        y = a <= b
    elif OP == "gt":
        y = a > b
    elif OP == "ge":
        y = a >= b
    elif OP == "logical_and":
        y = (a != 0) & (b != 0)
    elif OP == "logical_or":
        y = (a != 0) | (b != 0)
    elif OP == "atan2":
        y = _atan2(a, b)
    elif OP == "remainder" or OP == "fmod" or OP == "div_floor" or OP == "div_trunc":
        y = _divmod(a, b, OP)
    elif OP == "bitwise_and":
        y = a & b
    elif OP == "bitwise_or":
        y = a | b
    else:  # bitwise_xor
        y = a ^ b
    return y


@triton.jit
def _backward_op(g, x, p, pv, qv, k, nbits, OP: tl.constexpr, HAS_P: tl.constexpr, HAS_Q: tl.constexpr,
                 BLOCK: tl.constexpr):
    """A fused elementwise backward (OP: its row's name less "_backward") of gradient g and saved x
    (or output y); pv, qv: the scalar parameters p, q in x's type:

    threshold: g if x > p else 0          clamp: g if p <= x <= q else 0 (bounds optional)
    pow:       g * p * x ** (p - 1)       (x ** k by squaring when HAS_Q, k = p - 1 an integer)
    sigmoid:   g * y * (1 - y)            tanh:  g * (1 - y * y)
    gelu:      g * gelu'(x)               gelu_tanh: g * gelu'(x), tanh approximation
    """
    if OP == "threshold":  # NOTE: x <= p, not !(x > p): a NaN x passes the gradient, as in PyTorch
        out = tl.where(x <= pv, 0.0, g)
    elif OP == "clamp":
        out = g
        if HAS_P:
            out = tl.where(x >= pv, out, 0.0)
        if HAS_Q:
            out = tl.where(x <= qv, out, 0.0)
    elif OP == "pow":
        n_ = tl.full([BLOCK], _scalar(p, 0, x.dtype), x.dtype)
        if HAS_Q:
            xp = _powi(x, k, nbits)
        else:
            xp = _powf(x, n_ - 1.0)
        out = g * (n_ * xp)
    elif OP == "sigmoid":
        out = g * (x * (1.0 - x))
    elif OP == "tanh":
        out = g * (1.0 - x * x)
    elif OP == "gelu":  # d/dx x * cdf(x) = cdf(x) + x * pdf(x)
        cdf = 0.5 * (1.0 + tl.erf(x * 0.7071067811865476))
        out = g * (cdf + x * (tl.exp(-0.5 * x * x) * 0.3989422804014327))
    else:  # gelu_tanh
        t = _tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))
        du = 0.7978845608028654 * (1.0 + 3.0 * 0.044715 * x * x)
        out = g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du)
    return out

"""Elementwise math that Triton's language lacks, as @triton.jit helpers for kernels/pointwise.py:
atan / atan2 (and asin, acos through them), sinh, cosh, log2, log10, exp2, rsqrt, rounding, NaN and
inf tests, accurate expm1 and sqrt. tl has exp, log, sin, cos, sqrt, erf, floor and ceil only
(libdevice's functions do not run under Triton's interpreter, which the tests use).

NOTE: constants are Python floats, so they take the operand's precision (fp32 or fp64); the
rational approximation of atan is Cephes', accurate to fp64.
"""
import triton
import triton.language as tl


@triton.jit
def _isnan(x):
    return x != x


@triton.jit
def _sqrt(x):
    if x.dtype == tl.float64:
        y = tl.sqrt(x)  # NOTE: fp64 sqrt is IEEE-rounded; fp32 tl.sqrt would be approximate
    else:
        y = tl.sqrt_rn(x)
    return y


@triton.jit
def _expm1(x):
    # NOTE: (u - 1) * x / log(u) with u = exp(x) (Kahan): accurate near 0
    u = tl.exp(x)
    return tl.where((u == 1.0) | (u == float("inf")), tl.where(u == 1.0, x, u),
                    tl.where(u - 1.0 == -1.0, -1.0, (u - 1.0) * (x / tl.log(u))))


@triton.jit
def _atan(x):
    """atan(x) by Cephes' range reduction and rational approximation (full fp64 accuracy)."""
    ax = tl.abs(x)
    big = ax > 2.414213562373095  # tan(3 pi / 8)
    mid = ax > 0.66
    t = tl.where(big, -1.0 / ax, tl.where(mid, (ax - 1.0) / (ax + 1.0), ax))
    # NOTE: tl.full: a where() of two Python floats would be fp32, whatever x's precision
    y0 = tl.where(big, tl.full(ax.shape, 1.5707963267948966, ax.dtype),
                  tl.where(mid, tl.full(ax.shape, 0.7853981633974483, ax.dtype), 0.0))
    more = tl.where(big, tl.full(ax.shape, 6.123233995736766e-17, ax.dtype),
                    tl.where(mid, tl.full(ax.shape, 3.061616997868383e-17, ax.dtype), 0.0))
    z = t * t
    p = (((-8.750608600031904e-1 * z - 1.6157537187333652e1) * z - 7.500855792314705e1) * z
         - 1.2288666844901362e2) * z - 6.485021904942025e1
    q = ((((z + 2.485846490142306e1) * z + 1.6502700983169885e2) * z + 4.328810604912903e2) * z
         + 4.853903996359137e2) * z + 1.9455065714826139e2
    r = y0 + (t * (z * p / q) + t + more)
    r = tl.where(ax == float("inf"), 1.5707963267948966, r)
    return tl.where(x < 0, -r, r)


@triton.jit
def _negative(x):
    """Whether x's sign bit is set (-0.0 included: atan2 tells +0 from -0)."""
    return (x < 0) | ((x == 0) & (1.0 / x < 0))


@triton.jit
def _atan2(y, x):
    """C's atan2: the angle of (x, y) in [-pi, pi], signed zeros and infinities included."""
    ay = tl.abs(y)
    ax = tl.abs(x)
    swap = ay > ax  # NOTE: the ratio taken <= 1, so atan's argument stays accurate
    r = _atan(tl.where(swap, ax / ay, tl.where(ax == 0, 0.0, ay / ax)))
    r = tl.where(swap, 1.5707963267948966 - r, r)
    r = tl.where((ax == float("inf")) & (ay == float("inf")), 0.7853981633974483, r)
    r = tl.where(_negative(x), 3.141592653589793 - r, r)
    r = tl.where(_isnan(x) | _isnan(y), x + y, r)
    return tl.where(_negative(y), -r, r)


@triton.jit
def _math_unary(x, OP: tl.constexpr):
    """The unary rows of ops/math.py: trigonometry, logs, rounding, NaN / inf tests."""
    if OP == "tan":
        y = tl.sin(x) / tl.cos(x)
    elif OP == "atan":
        y = _atan(x)
    elif OP == "asin" or OP == "acos":
        c = tl.sqrt((1.0 - x) * (1.0 + x))  # NOTE: sqrt(1 - x**2) without cancellation near |x| = 1
        if OP == "asin":
            y = _atan2(x, c)
        else:
            y = _atan2(c, x)
    elif OP == "sinh":
        ax = tl.abs(x)
        e = tl.exp(ax)
        m = _expm1(x)  # NOTE: small |x|: expm1 avoids e - 1/e cancelling
        y = tl.where(ax < 0.5, 0.5 * m * (1.0 + 1.0 / (m + 1.0)), tl.where(x < 0, -0.5, 0.5) * (e - 1.0 / e))
    elif OP == "cosh":
        e = tl.exp(tl.abs(x))
        y = 0.5 * e + 0.5 / e
    elif OP == "log2":
        y = tl.log(x) * 1.4426950408889634
    elif OP == "log10":
        y = tl.log(x) * 0.4342944819032518
    elif OP == "exp2":
        y = tl.exp(x * 0.6931471805599453)
    elif OP == "rsqrt":
        y = 1.0 / _sqrt(x)
    elif OP == "erf":
        y = tl.erf(x)
    elif OP == "isnan":
        y = _isnan(x)
    elif OP == "isinf":
        y = (x == float("inf")) | (x == float("-inf"))
    elif OP == "isfinite":
        y = (x == x) & (x != float("inf")) & (x != float("-inf"))
    elif not x.dtype.is_floating():  # floor ceil round trunc of an integer: itself
        y = x
    elif OP == "floor":
        y = tl.floor(x)
    elif OP == "ceil":
        y = tl.ceil(x)
    elif OP == "trunc":
        y = tl.where(x < 0, tl.ceil(x), tl.floor(x))
    elif OP == "frac":
        y = x - tl.where(x < 0, tl.ceil(x), tl.floor(x))
    else:  # round: half to even, as PyTorch (and NumPy)
        f = tl.floor(x)
        d = x - f
        odd = (f - 2.0 * tl.floor(f * 0.5)) == 1.0
        y = tl.where((d > 0.5) | ((d == 0.5) & odd), f + 1.0, f)
    return y

"""float32 log and sincos of PyTorch's AVX2 randn, bit for bit (native/cpu/avx_mathfun.h).

That file is Julien Pommier's port of the Cephes polynomials. ATen compiles it with -mfma, so the
compiler fuses each multiply into the add that consumes it; `_Fma` does the same in float64 (a
float32 product is exact there; the sum's rounding to float64 and then to float32 differs from one
rounding only where the first lands exactly halfway between two float32s, a rare tie). The
constants and the order of operations are the header's.
Written for speed on large arrays (randn(10**6)): in-place passes into reused buffers, and sign
flips and selections on the float32 bits rather than np.where (several times slower there).
"""
import numpy as np

f32, f64, i32 = np.float32, np.float64, np.int32


class _Fma:
    """float32 fused multiply-adds on arrays of one shape, through a reused float64 buffer:
    widen a, multiply (exact), add c (rounded to float64), round to float32. A separately typed
    float64 multiply and add are each about twice as fast as one mixed float32/float64 ufunc."""

    def __init__(self, shape):
        self.t = np.empty(shape, f64)

    def __call__(self, a, b, c, out=None):
        """a * b + c rounded once to float32, into `out` (a new array if None). a: a float32 array
        or scalar; b: a float32 scalar or a float64 array of float32 values; c: scalar or array."""
        t = self.t
        if isinstance(a, np.ndarray):
            np.copyto(t, a)
            t *= b
        else:
            np.multiply(b, f64(a), out=t)
        t += c
        out = np.empty(t.shape, f32) if out is None else out
        np.copyto(out, t, casting="same_kind")
        return out


_BITS_FROM = 4096  # NOTE: from this size on the bit forms below beat np.where (8x at 5e5); below, fewer calls win


def _select(mask, a, b):
    """np.where(mask, a, b) for float32 arrays (on their bits, for large ones)."""
    if mask.size < _BITS_FROM:
        return np.where(mask, a, b)
    m = -mask.view(np.int8).astype(i32)  # all ones where mask
    ai, bi = a.view(i32), b.view(i32)
    return (bi ^ ((ai ^ bi) & m)).view(f32)


def _negate_where(a, mask):
    """a = -a where mask, in place (by flipping the sign bit, for large arrays)."""
    if mask.size < _BITS_FROM:
        np.negative(a, out=a, where=mask)
    else:
        a.view(i32)[...] ^= mask.view(np.int8).astype(i32) << 31


_LOG_P = [f32(v) for v in (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
                           1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
                           3.3333331174e-1)]


def log(x):
    """log256_ps of a float32 array with x > 0 (randn passes 1 - u, in (0, 1])."""
    fma = _Fma(x.shape)
    bits = np.maximum(x, f32(1.17549435e-38)).view(i32)
    small = (bits & 0x7FFFFF) < 0x3504F3  # the mantissa below sqrt(1/2), as the compare below
    e = ((bits >> 23) - (0x7F - 1) - small).astype(f32)
    x = ((bits & ~0x7F800000) | 0x3F000000).view(f32)  # the mantissa, in [0.5, 1)
    x = (x - f32(1)) + _select(small, x, np.zeros_like(x))
    z = x * x
    x64 = x.astype(f64)
    y = fma(_LOG_P[0], x64, _LOG_P[1])
    for p in _LOG_P[2:]:
        fma(y, x64, p, out=y)
    y *= x
    fma(y, z, e * f32(-2.12194440e-4), out=y)
    z = -z
    fma(z, f32(0.5), y, out=y)
    x += y
    return fma(e, f32(0.693359375), x, out=y)


def sincos(x):
    """sincos256_ps of a float32 array: (sin x, cos x)."""
    fma = _Fma(x.shape)
    sign_sin = np.signbit(x)
    x = np.abs(x)
    j = (x * f32(1.27323954473516)).astype(i32)  # x * 4 / pi, truncated
    j += 1
    j &= ~1
    y = j.astype(f32)
    sign_sin ^= (j & 4) != 0
    cos_neg = (~(j - 2) & 4) != 0
    poly_sin = (j & 2) == 0
    for dp in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8):  # x - y * pi / 4, in three parts
        fma(y, f32(dp), x, out=x)
    z = x * x
    z64 = z.astype(f64)
    yc = fma(f32(2.443315711809948e-5), z64, f32(-1.388731625493765e-3))
    fma(yc, z64, f32(4.166664568298827e-2), out=yc)
    yc *= z
    fma(yc, z64, -(z * f32(0.5)), out=yc)
    yc += f32(1)
    ys = fma(f32(-1.9515295891e-4), z64, f32(8.3321608736e-3))
    fma(ys, z64, f32(-1.6666654611e-1), out=ys)
    ys *= z
    fma(ys, x.astype(f64), x, out=ys)
    s, c = _select(poly_sin, ys, yc), _select(poly_sin, yc, ys)
    _negate_where(s, sign_sin)
    _negate_where(c, cos_neg)
    return s, c

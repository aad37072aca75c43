"""float32 log and sincos of PyTorch's AVX2 randn, bit for bit (native/cpu/avx_mathfun.h).

That file is Julien Pommier's port of the Cephes polynomials. ATen compiles it with -mfma, so the
compiler fuses each multiply into the add that consumes it; `_fma` rounds once the same way (a
float32 product is exact in float64). The constants and the order of operations are the header's.
"""
import numpy as np

f32 = np.float32


def _fma(a, b, c):
    return (np.asarray(a, np.float64) * np.float64(b) + np.asarray(c, np.float64)).astype(f32)


_LOG_P = [f32(v) for v in (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
                           1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
                           3.3333331174e-1)]


def log(x):
    """log256_ps for x > 0 (randn passes 1 - u, in (0, 1])."""
    bits = np.maximum(x, f32(1.17549435e-38)).view(np.int32)
    e = ((bits >> 23) - 0x7F).astype(f32) + f32(1)
    x = ((bits & ~0x7F800000) | 0x3F000000).view(f32)  # the mantissa, in [0.5, 1)
    small = x < f32(0.707106781186547524)
    x = (x - f32(1)) + np.where(small, x, f32(0))
    e = e - small.astype(f32)
    z = x * x
    y = _fma(_LOG_P[0], x, _LOG_P[1])
    for p in _LOG_P[2:]:
        y = _fma(y, x, p)
    y = _fma(y * x, z, e * f32(-2.12194440e-4))
    y = _fma(-z, f32(0.5), y)
    return _fma(e, f32(0.693359375), x + y)


def sincos(x):
    """sincos256_ps: (sin x, cos x)."""
    sign_sin = np.signbit(x)
    x = np.abs(x)
    j = (x * f32(1.27323954473516)).astype(np.int32)  # x * 4 / pi, truncated
    j = (j + 1) & ~1
    y = j.astype(f32)
    sign_sin ^= (j & 4) != 0
    cos_neg = (~(j - 2) & 4) != 0
    poly_sin = (j & 2) == 0
    for dp in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8):  # x - y * pi / 4, in three parts
        x = _fma(y, f32(dp), x)
    z = x * x
    yc = _fma(f32(2.443315711809948e-5), z, f32(-1.388731625493765e-3))
    yc = _fma(yc, z, f32(4.166664568298827e-2))
    yc = _fma(yc * z, z, -(z * f32(0.5))) + f32(1)
    ys = _fma(f32(-1.9515295891e-4), z, f32(8.3321608736e-3))
    ys = _fma(ys, z, f32(-1.6666654611e-1))
    ys = _fma(ys * z, x, x)
    s = np.where(poly_sin, ys, yc)
    c = np.where(poly_sin, yc, ys)
    return np.where(sign_sin, -s, s), np.where(cos_neg, -c, c)

"""erf and erfc on NumPy arrays, vectorized: NumPy has neither, and math.erf per element costs
about 0.13 us each (8.5 ms for 65k elements, where PyTorch takes 38 us).

The approximations are those of FreeBSD's msun s_erf.c (the Sun fdlibm code glibc's erf and erfc
also derive from: "Copyright (C) 1993 by Sun Microsystems, Inc. Developed at SunPro, a Sun
Microsystems, Inc. business. Permission to use, copy, modify, and distribute this software is
freely granted, provided that this notice is preserved."), accurate to under 1 ulp in float64:

  |x| < 0.84375          erf = x + x * P(x^2) / Q(x^2)
  0.84375 <= |x| < 1.25  erf = erx + P(|x| - 1) / Q(|x| - 1)   (erx: erf(1) rounded to 24 bits)
  1.25 <= |x| < 28       erfc = exp(-x^2 - 0.5625 + R(1/x^2) / S(1/x^2)) / |x|, two rationals
                         split at 1/0.35; the exp split so that -x^2 stays exact (below)
  beyond                 erf = +-1, erfc underflows to 0 (or is 2 for x <= -28)

Each interval is evaluated only on its own elements. Any float dtype computes in float64 and is
rounded once to its own dtype. NaN stays NaN, erf(+-inf) = +-1, erf(-0.0) = -0.0, as math.erf.
"""
import numpy as np

f64 = np.float64

_ERX = 8.45062911510467529297e-01
_EFX8 = 1.02703333676410069053e+00  # 8 * efx, efx = 2 / sqrt(pi) - 1: erf(x) = x * (1 + efx) for tiny x
_PP = (1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
       -5.77027029648944159157e-03, -2.37630166566501626084e-05)
_QQ = (1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
       1.32494738004321644526e-04, -3.96022827877536812320e-06)
_PA = (-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
       3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
       -2.16637559486879084300e-03)
_QA = (1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
       1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02)
_RA = (-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
       -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
       -8.12874355063065934246e+01, -9.81432934416914548592e+00)
_SA = (1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02,
       6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02,
       6.57024977031928170135e+00, -6.04244152148580987438e-02)
_RB = (-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
       -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
       -4.83519191608651397019e+02)
_SB = (1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03,
       3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02,
       -2.24409524465858183362e+01)


def _poly(coefs, t):
    """coefs[0] + coefs[1] t + ... by Horner's rule."""
    r = np.full_like(t, coefs[-1])
    for c in coefs[-2::-1]:
        r *= t
        r += c
    return r


def _small(x):
    """erf(x) - x for |x| < 0.84375: x * P(x^2) / Q(x^2), added to x last (so erf(-0.0) = -0.0)."""
    z = x * x
    return x * (_poly(_PP, z) / _poly(_QQ, z))


def _mid(a):
    """erf(a) - erx for 0.84375 <= a < 1.25."""
    s = a - 1
    return _poly(_PA, s) / _poly(_QA, s)


def _tail(a):
    """erfc(a) for 1.25 <= a < 28.

    exp(-a^2) would round -a^2 first, an error a^2 times larger in the result; so a is split as
    z + (a - z), z holding a's top 21 bits, whose square is exact: -a^2 = -z^2 - (a - z)(a + z)."""
    s = 1 / (a * a)
    near, far = _split(a < 1 / 0.35)
    rs = np.empty_like(a)
    sn, sf = s.take(near), s.take(far)
    rs[near] = _poly(_RA, sn) / _poly(_SA, sn)
    rs[far] = _poly(_RB, sf) / _poly(_SB, sf)
    z = (a.view(np.uint64) & np.uint64(0xFFFF_FFFF_0000_0000)).view(f64)
    return np.exp(-z * z - 0.5625) * np.exp((z - a) * (z + a) + rs) / a


def _split(mask):
    """(indices where mask, indices where not): NumPy's boolean indexing is several times slower
    than flatnonzero and take (250 us against 60 for 65536 elements)."""
    return np.flatnonzero(mask), np.flatnonzero(~mask)


def _pieces(x, end):
    """(a = |x|, the indices of |x| < 0.84375, of 0.84375 <= |x| < 1.25, of 1.25 <= |x| < end) for a
    1-D float64 x (NaN in none)."""
    a = np.abs(x)
    small = np.flatnonzero(a < 0.84375)
    mid = np.flatnonzero((a >= 0.84375) & (a < 1.25))
    tail = np.flatnonzero((a >= 1.25) & (a < end))
    return a, small, mid, tail


def erf(x):
    """erf of a float array (any shape, 0-d included), in its own dtype."""
    x = np.asarray(x)
    x64 = x.astype(f64, copy=False).reshape(-1)  # NOTE: 1-D: a 0-d array's ufunc results would be scalars
    a, small, mid, tail = _pieces(x64, 6.0)  # NOTE: erfc(6) < 2**-53: erf rounds to +-1 from there
    out = np.copysign(1.0, x64)
    xs = x64.take(small)
    y = _small(xs)
    y += xs
    tiny = np.flatnonzero(np.abs(xs) < 2.0 ** -28)  # NOTE: x * (1 + efx) at 8x scale: no lost bits if subnormal
    if tiny.size:
        t = xs.take(tiny)
        y[tiny] = (8 * t + _EFX8 * t) * 0.125
    out[small] = y
    if mid.size:
        out[mid] = np.copysign(_ERX + _mid(a.take(mid)), x64.take(mid))
    if tail.size:
        out[tail] = np.copysign(1 - _tail(a.take(tail)), x64.take(tail))
    return _finish(out, x64, x)


def erfc(x):
    """erfc = 1 - erf of a float array, accurate in relative terms where it is small (x > 1)."""
    x = np.asarray(x)
    x64 = x.astype(f64, copy=False).reshape(-1)
    a, small, mid, tail = _pieces(x64, 28.0)  # NOTE: erfc(28) underflows (and 2 - erfc(28) is 2)
    out = (x64 < 0).astype(f64)
    out *= 2
    xs = x64.take(small)
    y = _small(xs)
    r = 1 - (xs + y)
    big = np.flatnonzero(xs >= 0.25)  # NOTE: there 0.5 - (x - 0.5 + y): 1 - erf(x) in one rounding
    if big.size:
        r[big] = 0.5 - (xs.take(big) - 0.5 + y.take(big))
    out[small] = r
    if mid.size:
        m = _mid(a.take(mid))
        r = 1 + (_ERX + m)
        pos = np.flatnonzero(x64.take(mid) > 0)
        r[pos] = (1 - _ERX) - m.take(pos)
        out[mid] = r
    if tail.size:
        t = _tail(a.take(tail))
        neg = np.flatnonzero(x64.take(tail) < 0)
        t[neg] = 2 - t.take(neg)
        out[tail] = t
    return _finish(out, x64, x)


def _finish(out, x64, x):
    """NaN where x is NaN (no interval holds it), then x's dtype and shape."""
    nan = np.flatnonzero(np.isnan(x64))
    if nan.size:
        out[nan] = np.nan
    return out.astype(x.dtype, copy=False).reshape(x.shape)

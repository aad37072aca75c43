"""PyTorch's CPU random numbers, bit for bit: mt19937 and the transforms ATen's CPU kernels apply.

The generator is std::mt19937 seeded with the low 32 bits of the seed (at::mt19937); NumPy's
MT19937 with its legacy seeding is the same engine, so `random_raw` gives torch's 32-bit words and
the transforms below vectorize them. Read from PyTorch's aten/src/ATen: core/TransformationHelper.h
and DistributionsHelper.h (the transforms), native/cpu/DistributionTemplates.h (the kernels),
native/cpu/avx_mathfun.h (the float32 log/sincos of randn), native/cpu/MultinomialKernel.cpp and
native/Distributions.cpp (multinomial), native/TensorFactories.cpp (randperm). Every function
here takes the CPU Generator of random.py and draws exactly the words torch's kernel draws.

What is not bit for bit: float16/bfloat16 normals of 16 or more elements (ATen computes them in
Half arithmetic; here in float32, then rounded), noted where it happens.
"""
import math
from fractions import Fraction

import numpy as np

from . import _avx_mathfun as avx

f32, f64, u64 = np.float32, np.float64, np.uint64
_DIGITS = {"float32": 24, "float64": 53, "float16": 11, "bfloat16": 8}
_LOW53 = (1 << 53) - 1
_NAMES = {}  # NumPy dtype -> its name (dtype.name is Python code, a microsecond a call)


def words(gen, n):
    """n raw 32-bit words of the engine (as uint64)."""
    return gen._engine(n)


def words64(gen, n):
    """n 64-bit words, each from two 32-bit ones: (first << 32) | second (random64)."""
    r = gen._engine(2 * n)
    return (r[0::2] << u64(32)) | r[1::2]


def unit(gen, n, name):
    """n uniforms in [0, 1) as uniform_real_distribution<T>(0, 1) draws them: the low `digits` bits
    of one word (of a 64-bit word for double), times 2**-digits. float64 for float64, else float32."""
    d = _DIGITS[name]
    w = words64(gen, n) if d == 53 else words(gen, n)
    w &= u64((1 << d) - 1)
    x = w.astype(f64 if d == 53 else f32)
    x *= x.dtype.type(2.0 ** -d)
    return x


def fma(a, b, c):
    """a * b + c rounded once, as the compiler contracts ATen's `x * range + from`. float32 operands
    are exact in float64; float64 ones use Dekker's error-free product (correct but in the rarest
    double-rounding ties)."""
    if a.dtype == f32:
        t = a.astype(f64)
        t *= f64(b)
        t += f64(c)
        return t.astype(f32)
    p = a * b
    split = 134217729.0  # 2**27 + 1
    ah = a * split - (a * split - a)
    bh = b * split - (b * split - b)
    err = ((ah * bh - p) + ah * (b - bh) + (a - ah) * bh) + (a - ah) * (b - bh)
    s = p + c
    bb = s - p
    t = (p - (s - bb)) + (c - bb)
    return s + (t + err)


def uniform(gen, n, name, lo=0.0, hi=1.0):
    """uniform_(lo, hi): x * (to - from) + from, in float for float32 (to - from rounded first)."""
    x = unit(gen, n, name)
    if (lo, hi) == (0.0, 1.0):
        return x
    t = f64 if name == "float64" else f32
    return fma(x, t(t(hi) - t(lo)), t(lo))


def _normal_scalar(gen, mean, std):
    """normal_distribution<double>: Box-Muller on two double uniforms; the second normal is cached
    on the generator for the next scalar draw (as CPUGeneratorImpl's next_double_normal_sample).
    In Python floats: a few scalars (randn(3)) cost less than NumPy calls on arrays of two."""
    if gen._normal_cache is not None:
        z, gen._normal_cache = gen._normal_cache, None
    else:
        a, b, c, d = gen._engine(4).tolist()
        u1, u2 = ((a << 32 | b) & _LOW53) * 2.0 ** -53, ((c << 32 | d) & _LOW53) * 2.0 ** -53
        r = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        gen._normal_cache = r * math.sin(theta)
        z = r * math.cos(theta)
    if std == 1.0 or mean == 0.0:  # z * 1 or z * std + 0 round once anyway
        return z * std + mean
    return float(Fraction(z) * Fraction(std) + Fraction(mean))  # NOTE: one rounding, as the contracted z * std + mean


# The C library's log, log1p, cos and sin (ATen's std:: calls), which Python's math module also calls:
# each with the inputs its self-check tries (a function of 4096 uniforms in [0, 1)).
_LIBM = {"log": (np.log, math.log, lambda u: 1.0 - u), "log1p": (np.log1p, math.log1p, lambda u: -u),
         "cos": (np.cos, math.cos, lambda u: 2 * math.pi * u), "sin": (np.sin, math.sin, lambda u: 2 * math.pi * u)}
_libm_checked = {}


def _libm(name, a):
    """The C library's `name` of a float64 array, element by element as ATen computes it.

    NumPy's own SIMD loops (AVX-512) differ from the C library in the last bit at times (log in
    about 0.4% of uniforms, log1p in 7%), but NumPy calls the C library itself, at C speed, where
    its SIMD loops do not apply, as on a reversed (negative-stride) input. Whether this NumPy does
    so is checked once per function against math.<name> on 4096 values; where it does not, each
    element goes through math.<name> (exact, about 40 times slower)."""
    ufunc, fn, probe = _LIBM[name]
    if name not in _libm_checked:
        x = probe(np.random.default_rng(0).random(4096))
        _libm_checked[name] = np.array_equal(ufunc(x[::-1])[::-1], [fn(v) for v in x.tolist()])
    flat = np.ascontiguousarray(a, f64).reshape(-1)
    if _libm_checked[name]:
        return np.ascontiguousarray(ufunc(flat[::-1])[::-1]).reshape(a.shape)
    return np.array([fn(v) for v in flat.tolist()], f64).reshape(a.shape)


_ROWS = 2048  # NOTE: rows of 16 per block: a block's float64 temporaries (128 KiB each) stay in cache


def _fill16(u, name, mean, std):
    """normal_fill_16 on rows of 16 uniforms: Box-Muller pairs (j, j + 8) of each row."""
    u = u.reshape(-1, 16)
    if len(u) > _ROWS:
        return np.concatenate([_fill16(u[i:i + _ROWS], name, mean, std) for i in range(0, len(u), _ROWS)])
    if name == "float32":  # the AVX2 kernel (avx_mathfun's log and sincos), ATen's path on x86-64
        r = np.sqrt(f32(-2) * avx.log(f32(1) - u[:, :8]))
        s, c = avx.sincos(f32(2 * math.pi) * u[:, 8:])
        out = np.concatenate([r * c, r * s], axis=1)
        return out if (mean, std) == (0.0, 1.0) else fma(out, f32(std), f32(mean))
    r = np.sqrt(-2.0 * _libm("log", 1.0 - u[:, :8].astype(f64)))
    theta = 2.0 * math.pi * u[:, 8:].astype(f64)
    out = np.concatenate([r * _libm("cos", theta), r * _libm("sin", theta)], axis=1)
    return out if (mean, std) == (0.0, 1.0) else fma(out, f64(std), f64(mean))


def normal(gen, n, name, mean=0.0, std=1.0, contiguous=True):
    """normal_(mean, std) of n elements: ATen's normal_fill (16 at a time, the last 16 redrawn) for
    16 or more contiguous ones, else one scalar normal_distribution<double> draw each."""
    if n < 16 or not contiguous:
        return np.array([_normal_scalar(gen, mean, std) for _ in range(n)])
    fill = "float64" if name == "float64" else "float32"  # NOTE: float16/bfloat16 not bit for bit (see top)
    u = unit(gen, n, fill)
    k = n // 16 * 16
    out = np.empty(n, u.dtype)
    out[:k] = _fill16(u[:k], fill, mean, std).reshape(-1)
    if n % 16:
        tail = u[n - 16:].copy()
        tail[:] = unit(gen, 16, fill)
        out[n - 16:] = _fill16(tail, fill, mean, std).reshape(-1)
    return out


def exponential(gen, n, lambd=1.0):
    """exponential_distribution<double>: -1 / lambda * log1p(-u), u a double uniform, with the C
    library's log1p."""
    return -1.0 / lambd * _libm("log1p", -unit(gen, n, "float64"))


def bernoulli(gen, p, n=None):
    """bernoulli_distribution: u < p. A Python float p (bernoulli_(p)): n double uniforms; an array
    p (bernoulli(p), in the output's element order): double uniforms for float64 p, else float ones."""
    if isinstance(p, float):
        return unit(gen, n, "float64") < p
    return unit(gen, p.size, "float64" if p.dtype == f64 else "float32").reshape(p.shape) < p


def random_from_to(gen, n, low, high):
    """randint / random_(from, to): from + word % (to - from), a 64-bit word from a range of 2**28 on
    (PyTorch 2.13's CPU kernel; found by drawing: not 2**32, as ATen's older DistributionsHelper.h)."""
    span = high - low
    w = words64(gen, n) if span >= 1 << 28 else words(gen, n)
    w %= u64(span)
    w = w.view(np.int64)  # NOTE: below 2**63 now, so the same values
    w += np.int64(low)
    return w


def random_full(gen, n, name):
    """random_() without bounds: uniform_int_distribution<T>: a word modulo (max + 1) of T, or
    2**digits + 1 for floating point (a 64-bit word for int64 and double)."""
    wide = name in ("int64", "float64")
    w = words64(gen, n) if wide else words(gen, n)
    if name == "bool":
        return (w & u64(1)).astype(bool)
    if name in _DIGITS:
        return (w % u64((1 << _DIGITS[name]) + 1)).astype(f64)
    w &= u64(int(np.iinfo(name).max))  # NOTE: max + 1 is a power of two: the modulo is a mask
    return w.view(np.int64)


def randperm(gen, n):
    """randperm(n): ATen's Fisher-Yates: for i < n - 1 swap r[i] and r[i + word % (n - i)]."""
    if n < 2:
        return np.arange(n, dtype=np.int64)
    picks = words(gen, n - 1) % np.arange(n, 1, -1, dtype=u64)
    if 1024 <= n < 1 << 31:  # NOTE: the vectorized form's keys are target * n + step, below 2**62
        return _swaps_vectorized(n, picks)
    r = list(range(n))  # NOTE: a list: each swap depends on the last, and list items swap faster than an array's
    for i, z in enumerate(picks.tolist()):
        j = i + z
        r[i], r[j] = r[j], r[i]
    return np.array(r, np.int64)


def _swaps_vectorized(n, picks):
    """The result of `swap r[i], r[j_i]` for i = 0 .. n - 2 (j_i = i + picks[i] >= i) on r = 0 .. n - 1.

    Step i fixes r[i] for good (later steps touch positions > i only); it takes the value that
    position j_i holds then, and leaves there V(i), the value position i held just before it. A
    position p > i holds its own p until a step writes it, then what its latest writer left: so
    r[i] = V(w) for w the latest step before i with the same target j_i, or j_i if none; and
    V(p) = V(w) for w the latest step before p with target p, or p if none: chains of earlier
    steps, resolved by pointer jumping (a few rounds). About 3x faster than the loop at 10**5."""
    m = n - 1
    j = np.arange(m, dtype=np.int64)
    j += picks.view(np.int64)
    key = np.sort(j * n + np.arange(m))  # NOTE: (target, step), unique: sorted, steps by target in time order
    order, tj = key % n, key // n
    first = np.empty(m, bool)  # the earliest step of each target
    first[0] = True
    np.not_equal(tj[1:], tj[:-1], out=first[1:])
    prev = np.empty(m, np.int64)  # the previous step with the same target, or -1
    prev[0] = -1
    prev[1:] = order[:-1]
    prev[first] = -1
    writer = np.empty(m, np.int64)
    writer[order] = prev
    last = np.append(first[1:], True)  # the latest step of each target; not before it if it is the target itself
    targets, latest = tj[last], np.where(order[last] == tj[last], prev[last], order[last])
    has = latest >= 0
    v = np.arange(n, dtype=np.int64)  # V(p) = v[v[...v[p]]]: follow writers down to a position never written
    v[targets[has]] = latest[has]
    active = targets[has]
    while active.size:
        step = v[active]
        nxt = v[step]
        v[active] = nxt
        active = active[nxt != step]
    out = np.empty(n, np.int64)
    out[:m] = np.where(writer >= 0, v[np.maximum(writer, 0)], j)
    out[m] = v[m]
    return out


def multinomial(gen, p, k, replacement):
    """multinomial on rows of `p` (2-D, float): k samples each, as ATen's CPU path draws them.

    Without replacement, or one sample: argmax / top-k of p / q with q ~ Exp(1) (exponential_
    on an array like p). With replacement: per row the cumulative sum in p's dtype, divided by
    the sum, last entry 1, and for each sample a double uniform looked up by binary search.
    """
    if not replacement or k == 1:
        q = exponential(gen, p.size).astype(p.dtype).reshape(p.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = p / q
        if k == 1:
            return np.argmax(r, axis=-1)[:, None]
        return np.argsort(-r, axis=-1, kind="stable")[:, :k]
    out = np.empty((p.shape[0], k), np.int64)
    for i, row in enumerate(p):
        cum = np.cumsum(row, dtype=row.dtype)
        cum = (cum / cum[-1]).astype(row.dtype)
        cum[-1] = 1
        out[i] = np.searchsorted(cum.astype(f64), unit(gen, k, "float64"), side="left")
    return out


def _draw(gen, kind, name, n, contiguous, params):
    """n values of distribution `kind` for an array of dtype `name`, in the order ATen writes them."""
    if kind == "uniform":
        return uniform(gen, n, name, *params)
    if kind == "normal":
        return normal(gen, n, name, *params, contiguous=contiguous)
    if kind == "exponential":
        return exponential(gen, n, *params)
    if kind == "randint":
        return random_from_to(gen, n, *params)
    if kind == "random":
        return random_full(gen, n, name)
    if kind == "bernoulli":
        p = params[0]
        return bernoulli(gen, p, n) if isinstance(p, float) else bernoulli(gen, p)
    raise ValueError(f"unknown distribution {kind!r}")


def fill_(a, kind, gen, *params):
    """Fill NumPy array `a` in place; a non-contiguous one in memory order, as TensorIterator visits
    it (dims by decreasing stride). A bernoulli array p is given already broadcast to a's shape."""
    contiguous = a.flags.c_contiguous
    target = a
    if not contiguous:
        order = sorted(range(a.ndim), key=lambda d: -abs(a.strides[d]))
        target = a.transpose(order)
    if kind == "bernoulli" and not isinstance(params[0], float):
        params = (np.ascontiguousarray(params[0] if contiguous else params[0].transpose(order)),)
    name = _NAMES.get(a.dtype) or _NAMES.setdefault(a.dtype, a.dtype.name)
    values = _draw(gen, kind, name, a.size, contiguous, params)
    target[...] = values.reshape(target.shape)

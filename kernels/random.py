"""Random numbers on CUDA from Triton's Philox (counter-based): fills, multinomial, randperm (random
keys argsorted by kernels/sort.py).

Element i of a draw uses the Philox counter `offset + i` under the generator's seed, so a result
depends only on (seed, offset, i): not on block sizes, launch order or the device's SM count.
The generator hands out offsets (`gen._philox(n)` -> (key, offset)), so draws never overlap.

Uniforms keep as many random bits as the dtype's mantissa holds (24 for float32, 53 for float64
from two 32-bit words, 11 for float16, 8 for bfloat16), so they are exact multiples of 2**-bits
and never round up to 1.0. Normals use Box-Muller on (0, 1] x [0, 1) uniforms. These are not
PyTorch's CUDA numbers (curand's Philox with its own counter layout); PyTorch's CPU and CUDA
streams differ too.
"""
import triton
import triton.language as tl

from .._dtype import bfloat16, float16, float32, float64, int64
from . import _utils as U, sort as SORT
from ._launch import fast

_TWO_PI = tl.constexpr(6.283185307179586)
KINDS = {"uniform": 0, "normal": 1, "exponential": 2, "randint": 3, "bernoulli": 4}


@triton.jit
def _uniform(r_hi, r_lo, dtype: tl.constexpr):
    """[0, 1) from random uint32 words: the top mantissa-width bits, scaled (exact, never 1.0)."""
    if dtype == tl.float64:
        u = ((r_hi >> 5).to(tl.float64) * 67108864.0 + (r_lo >> 6).to(tl.float64)) * (1.0 / 9007199254740992.0)
    elif dtype == tl.float16:
        u = (r_hi >> 21).to(tl.float32) * (1.0 / 2048.0)
    elif dtype == tl.bfloat16:
        u = (r_hi >> 24).to(tl.float32) * (1.0 / 256.0)
    else:
        u = (r_hi >> 8).to(tl.float32) * (1.0 / 16777216.0)
    return u


@triton.jit
def _open_unit(r):
    """(0, 1), never 0 or 1: (top 24 bits + 1/2) / 2**24, for logs and divisions."""
    return ((r >> 8).to(tl.float32) + 0.5) * (1.0 / 16777216.0)


@triton.jit(do_not_specialize=["seed", "offset", "n", "x0", "x1", "i0", "i1"])
def random_fwd_kernel(out_ptr, p_ptr, seed: tl.int64, offset: tl.int64, n, x0: tl.float64, x1: tl.float64,
                      i0: tl.int64, i1: tl.int64, KIND: tl.constexpr, P_TENSOR: tl.constexpr,
                      BLOCK: tl.constexpr):
    """out[i], i < n, from Philox(seed, counter offset + i), by KIND:
    0 uniform x0 + (x1 - x0) * U[0, 1);  1 normal x0 + x1 * N(0, 1);  2 exponential -log(U) / x0;
    3 integers i0 + r % (i1 + 1), r a 64-bit word;  4 bernoulli U < p[i] (P_TENSOR) or U < x0."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    r0, r1, r2, r3 = tl.randint4x(seed, offset + idx)
    dtype = out_ptr.dtype.element_ty
    acc = tl.float64 if dtype == tl.float64 else tl.float32
    a = tl.cast(x0, acc)  # NOTE: tl.cast, not .to(): under the interpreter the scalars stay Python numbers
    b = tl.cast(x1, acc)
    if KIND == 0:
        v = a + (b - a) * _uniform(r0, r1, dtype).to(acc)
    elif KIND == 1:
        # NOTE: 1 - u is in (0, 1]: the log never sees 0
        u1 = 1.0 - _uniform(r0, r1, acc)
        u2 = _uniform(r2, r3, acc)
        v = a + b * (tl.sqrt(-2.0 * tl.log(u1)) * tl.cos(u2 * _TWO_PI))
    elif KIND == 2:
        v = -tl.log(_open_unit(r0)) / tl.cast(x0, tl.float32)
    elif KIND == 3:
        word = (r0.to(tl.uint64) << 32) | r1.to(tl.uint64)
        v = i0 + (word % (tl.cast(i1, tl.uint64) + 1)).to(tl.int64)
    else:
        if P_TENSOR:
            p = tl.load(p_ptr + idx, mask=idx < n, other=0.0).to(tl.float64)
        else:
            p = x0
        v = _uniform(r0, r1, tl.float64) < p
    tl.store(out_ptr + idx, v.to(dtype), mask=idx < n)


def random_(a, kind, gen, *params):
    """Fill contiguous `a` in place with distribution `kind` (see random_fwd_kernel); returns a.
    params: uniform (lo, hi), normal (mean, std), exponential (lambd,), randint (low, high),
    bernoulli (p,): a float or a contiguous DeviceArray of a's shape."""
    n = U.numel(a.shape)
    if not n:
        return a
    x0 = x1 = 0.0
    i0 = i1 = 0
    p_arr, p_tensor = a, False
    if kind == "randint":
        i0, i1 = int(params[0]), int(params[1]) - int(params[0]) - 1  # NOTE: span - 1, so that 2**63 fits int64
    elif kind == "bernoulli" and not isinstance(params[0], float):
        p_arr, p_tensor = params[0], True
    else:
        x0 = float(params[0])
        x1 = float(params[1]) if len(params) > 1 else 0.0
    key, offset = gen._philox(n)
    block = max(16, min(triton.next_power_of_2(n), 1 << 15)) if U.INTERPRET else 1024
    fast(random_fwd_kernel)[(U.cdiv(n, block),)](a, p_arr, key, offset, n, x0, x1, i0, i1, KIND=KINDS[kind],
                                                P_TENSOR=p_tensor, BLOCK=block, num_warps=4)
    return a


def rand(shape, dtype, gen):
    """Uniform [0, 1) of `shape`."""
    _check_float(dtype, "rand")
    return random_(U.empty(shape, dtype), "uniform", gen, 0.0, 1.0)


def randn(shape, dtype, gen):
    """Standard normal of `shape`."""
    _check_float(dtype, "randn")
    return random_(U.empty(shape, dtype), "normal", gen, 0.0, 1.0)


def _check_float(dtype, name):
    if dtype not in (float32, float64, float16, bfloat16):
        raise TypeError(f"{name} needs a floating-point dtype, got {dtype.name}")


@triton.jit(do_not_specialize=["seed", "offset", "K", "S", "stride_p"])
def multinomial_fwd_kernel(p_ptr, out_ptr, seed: tl.int64, offset: tl.int64, K, S, stride_p,
                           REPLACEMENT: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_S: tl.constexpr):
    """out[row, s] for s < S: a category of row `row` of p (K >= 1 non-negative weights, sum > 0).

    With replacement: u in (0, 1) against the normalized cumulative sum (the first category whose
    cumulative weight reaches u), never past the last category of positive weight. Without: the S
    largest of p / q, q ~ Exp(1), largest first (Gumbel top-k, PyTorch's method), one at a time.
    """
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK_K)
    p = tl.load(p_ptr + row * stride_p + cols, mask=cols < K, other=0.0).to(tl.float32)
    if REPLACEMENT:
        cum = tl.cumsum(p, 0) / tl.sum(p, 0)
        last = tl.max(tl.where(p > 0, cols, 0), 0)
        for s0 in range(0, S, BLOCK_S):
            sidx = s0 + tl.arange(0, BLOCK_S)
            r0, r1, r2, r3 = tl.randint4x(seed, offset + row * S + sidx)
            u = _open_unit(r0)
            below = (cum[None, :] < u[:, None]) & (cols[None, :] < K)
            pick = tl.minimum(tl.sum(below.to(tl.int32), 1), last)
            tl.store(out_ptr + row * S + sidx, pick.to(tl.int64), mask=sidx < S)
    else:
        r0, r1, r2, r3 = tl.randint4x(seed, offset + row * K + cols)
        key = tl.where(cols < K, p / -tl.log(_open_unit(r0)), -1.0)
        for s in range(0, S):
            best = tl.argmax(key, 0)
            tl.store(out_ptr + row * S + s, best.to(tl.int64))
            key = tl.where(cols == best, -1.0, key)


def multinomial(p, k, replacement, gen):
    """k category indices per row of contiguous 2-D float `p` (int64, rows x k); p checked by the caller."""
    rows, cats = p.shape
    out = U.empty((rows, k), int64)
    if not rows:
        return out
    block_k = triton.next_power_of_2(cats)
    block_s = max(1, min(triton.next_power_of_2(k), 4096 // block_k))
    key, offset = gen._philox(rows * (k if replacement else cats))
    fast(multinomial_fwd_kernel)[(rows,)](p, out, key, offset, cats, k, p.strides[0], REPLACEMENT=bool(replacement),
                                         BLOCK_K=block_k, BLOCK_S=block_s, num_warps=4)
    return out


def randperm(n, gen):
    """A random permutation of range(n) (int64): the indices that sort n random keys (63-bit words
    of the generator's next n Philox counters; ties, about n**2 / 2**64 likely, keep index order),
    as PyTorch's CUDA randperm sorts random keys. The sort is kernels/sort.py's, for any n."""
    if not n:
        return U.empty((0,), int64)
    keys = random_(U.empty((n,), int64), "randint", gen, 0, 1 << 63)
    return SORT.argsort(keys, 0)

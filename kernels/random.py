"""Random numbers: uniform [0, 1) and standard normal, from Triton's Philox (counter-based).

Element i of a draw uses the Philox counter `offset + i` under the generator's seed, so a result
depends only on (seed, offset, i): not on block sizes, launch order or the device's SM count.
The generator hands out offsets (`gen.take_offset(n)`), so consecutive draws never overlap.

Uniforms keep as many random bits as the dtype's mantissa holds (24 for float32, 53 for float64
from two 32-bit words, 11 for float16, 8 for bfloat16), so they are exact multiples of 2**-bits
and never round up to 1.0. Normals use Box-Muller on (0, 1] x [0, 1) uniforms.
"""
import triton
import triton.language as tl

from .._dtype import bfloat16, float16, float32, float64
from . import _utils as U
from ._launch import fast

_TWO_PI = tl.constexpr(6.283185307179586)


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


@triton.jit(do_not_specialize=["seed", "offset", "n"])
def rand_fwd_kernel(out_ptr, seed: tl.int64, offset: tl.int64, n, NORMAL: tl.constexpr, BLOCK: tl.constexpr):
    """out[i] = U[0, 1) (or N(0, 1) if NORMAL) from Philox(seed, counter = offset + i), i < n."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    r0, r1, r2, r3 = tl.randint4x(seed, offset + idx)
    dtype = out_ptr.dtype.element_ty
    if NORMAL:
        # NOTE: 1 - u is in (0, 1]: the log never sees 0
        if dtype == tl.float64:
            u1 = 1.0 - _uniform(r0, r1, tl.float64)
            u2 = _uniform(r2, r3, tl.float64)
        else:
            u1 = 1.0 - _uniform(r0, r1, tl.float32)
            u2 = _uniform(r2, r3, tl.float32)
        v = tl.sqrt(-2.0 * tl.log(u1)) * tl.cos(u2 * _TWO_PI)
    else:
        v = _uniform(r0, r1, dtype)
    tl.store(out_ptr + idx, v.to(dtype), mask=idx < n)


def _draw(shape, dtype, gen, normal):
    if dtype not in (float32, float64, float16, bfloat16):
        raise TypeError(f"{'randn' if normal else 'rand'} needs a floating-point dtype, got {dtype.name}")
    out = U.empty(shape, dtype)
    n = U.numel(out.shape)
    if n:
        offset = gen.take_offset(n)
        block = max(16, min(triton.next_power_of_2(n), 1 << 15)) if U.INTERPRET else 1024
        fast(rand_fwd_kernel)[(U.cdiv(n, block),)](out, int(gen.seed), int(offset), n, NORMAL=normal, BLOCK=block,
                                             num_warps=4)
    return out


def rand(shape, dtype, gen):
    """Uniform [0, 1) of `shape`; gen has `.seed` (int) and `.take_offset(n) -> int`."""
    return _draw(shape, dtype, gen, False)


def randn(shape, dtype, gen):
    """Standard normal of `shape`; gen as for rand."""
    return _draw(shape, dtype, gen, True)

"""The CUDA backend's rand / randn (Philox): ranges, exactness per dtype, determinism in (seed, offset),
independence from block size, offsets handed out by the generator, and the moments.
TRITONGRAD_EMULATE_CUDA=1 python -m pytest tests/test_kernels_random.py
"""
import numpy as np
import pytest
from helpers import CUDA_BACKEND as G
from test_kernels_elementwise import FLOATS, back

import tritongrad.cuda
from tritongrad import _dtype as D

pytestmark = pytest.mark.skipif(not tritongrad.cuda.is_available(), reason="no CUDA device (or emulation)")

MANTISSA = {D.float32: 24, D.float64: 53, D.float16: 11, D.bfloat16: 8}


class Gen:
    """What tritongrad.random's generator provides: its 32-bit Philox key and offsets handed out in order."""

    def __init__(self, seed, offset=0):
        self.seed, self.offset = seed, offset

    def _philox(self, n):
        off, self.offset = self.offset, self.offset + n
        return self.seed & 0xFFFF_FFFF, off


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("shape", [(), (1,), (97,), (33, 65), (3, 1, 17), (0, 5)], ids=str)
def test_rand_shapes_and_range(shape, dtype):
    g = Gen(1234)
    u = G.rand(shape, dtype, g)
    assert u.shape == shape and u.dtype is dtype and g.offset == int(np.prod(shape))
    v = back(u).astype(np.float64)
    assert ((v >= 0) & (v < 1)).all()
    scaled = v * 2.0 ** MANTISSA[dtype]  # NOTE: exact multiples of 2**-bits: never rounds up to 1
    np.testing.assert_array_equal(scaled, np.floor(scaled))
    n = back(G.randn(shape, dtype, g)).astype(np.float64)
    assert n.shape == shape and np.isfinite(n).all()


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_moments(dtype):
    g = Gen(7)
    u = back(G.rand((20000,), dtype, g)).astype(np.float64)
    n = back(G.randn((20000,), dtype, g)).astype(np.float64)
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.005
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1) < 0.03
    assert abs(np.mean(np.abs(n) < 1.0) - 0.6827) < 0.015  # the normal's shape, not only its moments
    hist = np.histogram(u, bins=10, range=(0, 1))[0]
    assert hist.min() > 1800


def test_determinism_and_offsets():
    a = back(G.rand((33, 65), D.float32, Gen(42)))
    b = back(G.rand((33, 65), D.float32, Gen(42)))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, back(G.rand((33, 65), D.float32, Gen(43))))
    g = Gen(42)
    first, second = back(G.rand((100,), D.float32, g)), back(G.rand((100,), D.float32, g))
    assert not np.array_equal(first, second)
    whole = back(G.rand((200,), D.float32, Gen(42)))  # counter = offset + i: two draws = one longer draw
    np.testing.assert_array_equal(np.concatenate([first, second]), whole)
    big = Gen(2**40 + 5, offset=2**33)  # 64-bit seed and offset
    x = back(G.randn((97,), D.float64, big))
    assert big.offset == 2**33 + 97 and np.isfinite(x).all()


def test_independent_of_block_size():
    from tritongrad.cuda import memory
    from tritongrad.kernels import random as RNG
    outs = []
    for block in (16, 64, 1024):
        out = memory.empty((300,), D.float32)
        RNG.random_fwd_kernel[(-(-300 // block),)](out, out, 99, 1000, 300, 0.0, 1.0, 0, 0, KIND=RNG.KINDS["normal"],
                                                    P_TENSOR=False, BLOCK=block)
        outs.append(back(out))
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])


def test_rand_refuses_integers():
    with pytest.raises(TypeError):
        G.rand((3,), D.int64, Gen(0))

"""The CUDA backend's matmul against NumPy's matmul: dtypes, 1-D operands, broadcast batches, transposed and
offset views (what backward passes), a pinned multi-program config, the tf32 flag.
TRITONGRAD_EMULATE_CUDA=1 python -m pytest tests/test_kernels_matmul.py
"""
import zlib

import numpy as np
import pytest
from helpers import CUDA_BACKEND as G
from test_kernels_elementwise import back, dev, host

import tritongrad.backends
import tritongrad.cuda
from tritongrad import _dtype as D

pytestmark = [pytest.mark.skipif(not tritongrad.cuda.is_available(), reason="no CUDA device (or emulation)"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning")]

TOL = {D.float32: dict(rtol=1e-4, atol=1e-4), D.float64: dict(rtol=1e-12, atol=1e-12),
       D.float16: dict(rtol=4e-3, atol=4e-3), D.bfloat16: dict(rtol=2e-2, atol=2e-2)}
SHAPES = [((33, 65), (65, 17)), ((1, 1), (1, 1)), ((97,), (97,)), ((97,), (97, 5)), ((5, 97), (97,)),
          ((2, 3, 5, 7), (7, 4)), ((3, 5, 7), (2, 1, 7, 4)), ((2, 1, 5, 7), (1, 3, 7, 4)), ((4, 0, 3), (3, 2)),
          ((4, 3), (3, 0)), ((2, 3, 0), (0, 5))]


@pytest.fixture
def rng(request):
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))  # fresh per test, reproducible


def check_mm(out, x, y, dtype):
    ref = np.matmul(x.astype(np.float64), y.astype(np.float64))
    got = back(out)
    assert got.shape == ref.shape and out.dtype is dtype
    if dtype in TOL:
        np.testing.assert_allclose(got.astype(np.float64), ref, **TOL[dtype])
    else:
        np.testing.assert_array_equal(got, ref.astype(got.dtype))


@pytest.mark.parametrize("dtype", [D.float32, D.float64, D.float16, D.bfloat16, D.int64, D.int32], ids=str)
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_matmul(shapes, dtype, rng):
    x, y = host(shapes[0], dtype, rng, -2, 2), host(shapes[1], dtype, rng, -2, 2)
    check_mm(G.matmul(dev(x, dtype), dev(y, dtype)), x, y, dtype)


@pytest.mark.parametrize("dtype", [D.float32, D.float64, D.bfloat16], ids=str)
def test_matmul_strided(dtype, rng):
    """Transposed operands (the backward's x.T @ g and g @ w.T), offset slices, expanded batches."""
    x, w = host((65, 33), dtype, rng), host((17, 65), dtype, rng)
    xt, wt = G.permute(dev(x, dtype), (1, 0)), G.permute(dev(w, dtype), (1, 0))
    check_mm(G.matmul(xt, wt), x.T, w.T, dtype)
    big = host((40, 90), dtype, rng)
    a = G.index(dev(big, dtype), (slice(3, 36), slice(5, 70)))
    check_mm(G.matmul(a, wt), big[3:36, 5:70], w.T, dtype)
    check_mm(G.matmul(G.permute(a, (1, 0)), a), big[3:36, 5:70].T, big[3:36, 5:70], dtype)
    b = host((1, 65, 17), dtype, rng)
    bb = G.expand(dev(b, dtype), (3, 65, 17))
    check_mm(G.matmul(G.expand(a, (3, 33, 65)), bb), np.broadcast_to(big[3:36, 5:70], (3, 33, 65)), b, dtype)
    col = G.index(dev(big, dtype), (slice(None), 7))  # 1-D with stride 90
    v = host((7, 40), dtype, rng)
    check_mm(G.matmul(dev(v, dtype), col), v, big[:, 7], dtype)


def test_matmul_pinned_multiprogram(rng):
    """Small pinned tiles: many programs, grouped order and K loop with masks."""
    from tritongrad.kernels import matmul as MM
    x, y = host((50, 45), D.float32, rng), host((45, 70), D.float32, rng)
    MM.pin_config(BLOCK_M=16, BLOCK_N=16, BLOCK_K=16, GROUP_M=2, num_warps=4, num_stages=2)
    try:
        check_mm(G.matmul(dev(x, D.float32), dev(y, D.float32)), x, y, D.float32)
        check_mm(G.matmul(G.permute(dev(y, D.float32), (1, 0)), G.permute(dev(x, D.float32), (1, 0))), y.T, x.T,
                 D.float32)
        xb, yb = host((3, 20, 45), D.bfloat16, rng), host((45, 33), D.bfloat16, rng)
        check_mm(G.matmul(dev(xb, D.bfloat16), dev(yb, D.bfloat16)), xb, yb, D.bfloat16)
    finally:
        MM.pin_config()
    assert MM._pinned is None


def test_matmul_config_env(monkeypatch):
    from tritongrad.kernels import matmul as MM
    monkeypatch.setenv("TRITONGRAD_MATMUL_CONFIG",
                       "BLOCK_M=64, BLOCK_N=32,BLOCK_K=16,GROUP_M=4,num_warps=2,num_stages=3")
    MM._pin_from_env()
    try:
        assert MM._pinned == dict(BLOCK_M=64, BLOCK_N=32, BLOCK_K=16, GROUP_M=4, num_warps=2, num_stages=3)
    finally:
        MM.pin_config()


def test_matmul_tf32_flag(rng, monkeypatch):
    flags = tritongrad.backends.cuda.matmul
    assert flags.allow_tf32 is False
    from tritongrad.kernels import matmul as MM
    seen = []
    real = MM.matmul
    monkeypatch.setattr(MM, "matmul", lambda a, b, allow_tf32=False: seen.append(allow_tf32) or real(a, b, allow_tf32))
    try:
        x, y = host((33, 65), D.float32, rng), host((65, 17), D.float32, rng)
        flags.allow_tf32 = True
        check_mm(G.matmul(dev(x, D.float32), dev(y, D.float32)), x, y, D.float32)  # interpreter: exact anyway
        flags.allow_tf32 = False
        G.matmul(dev(x, D.float32), dev(y, D.float32))
    finally:
        flags.allow_tf32 = False
        monkeypatch.undo()
    assert seen == [True, False]


def test_matmul_errors(rng):
    a = dev(host((3, 4), D.float32, rng), D.float32)
    with pytest.raises(ValueError, match="mismatch"):
        G.matmul(a, a)
    with pytest.raises(ValueError):
        G.matmul(dev(np.float32(1.0), D.float32), a)
    with pytest.raises(TypeError):
        G.matmul(a, dev(host((4, 2), D.float64, rng), D.float64))


def test_flag_exists_after_import_without_triton():
    """`import tritongrad` makes tg.backends.cuda.matmul exist and loads no Triton (it costs a second)."""
    import subprocess
    import sys
    code = ("import sys, tritongrad as tg; assert tg.backends.cuda.matmul.allow_tf32 is False; "
            "assert 'triton' not in sys.modules, 'triton imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("layout", ["row-major", "offset-slice"])
def test_tf32_copies_an_n_major_b_to_k_major(rng, monkeypatch, layout):
    """tf32 products of an N-major B go through a transposing copy (large products only: forced here)."""
    from tritongrad.kernels import matmul as MM
    monkeypatch.setattr(MM, "_TF32_TRANSPOSE_MIN", 1)
    monkeypatch.setattr(tritongrad.backends.cuda.matmul, "allow_tf32", True)
    launched = []
    x = host((70, 130), D.float32, rng)
    big = host((140, 100), D.float32, rng)
    y, yd = (big[:130, :90], G.index(dev(big, D.float32), (slice(0, 130), slice(0, 90)))) if layout == "offset-slice" \
        else (big[:130], dev(big[:130].copy(), D.float32))
    fast_launch = MM.fast
    monkeypatch.setattr(MM, "fast", lambda k: launched.append(k) or fast_launch(k))
    out = G.matmul(dev(x, D.float32), yd)
    assert MM.transpose_kernel in launched
    ref = x.astype(np.float64) @ y.astype(np.float64)
    np.testing.assert_allclose(back(out), ref, rtol=1e-2, atol=1e-2 * np.abs(ref).max())  # tf32: ~10 bits


@pytest.mark.parametrize("split, shapes, dtype", [(2, ((33, 97), (97, 20)), D.float32),
                                                  (4, ((20, 20), (20, 33)), D.float32),  # some parts empty
                                                  (3, ((17, 130), (130, 5)), D.bfloat16),
                                                  (8, ((1, 300), (300, 17)), D.float16)], ids=str)
def test_matmul_split_k(split, shapes, dtype, rng):
    """Split-K: each program sums a part of K into fp32 partials, a second kernel adds them."""
    from tritongrad.kernels import matmul as MM
    x, y = host(shapes[0], dtype, rng, -2, 2), host(shapes[1], dtype, rng, -2, 2)
    launched = []
    real_fast = MM.fast
    MM.pin_config(BLOCK_M=16, BLOCK_N=16, BLOCK_K=16, GROUP_M=2, num_warps=4, num_stages=2, SPLIT_K=split)
    try:
        MM.fast = lambda k: launched.append(k) or real_fast(k)
        check_mm(G.matmul(dev(x, dtype), dev(y, dtype)), x, y, dtype)
        # transposed operands, as backward passes them
        xt, yt = (G.permute(dev(np.ascontiguousarray(v.T), dtype), (1, 0)) for v in (x, y))
        check_mm(G.matmul(xt, yt), x, y, dtype)
    finally:
        MM.fast = real_fast
        MM.pin_config()
    assert MM.splitk_sum_kernel in launched


def test_tf32_stages_an_m_major_a_k_major(rng, monkeypatch):
    """tf32 products read both operands K-major: x.T (M-major, as grad_W = x.T @ g) is copied first."""
    from tritongrad.kernels import matmul as MM
    monkeypatch.setattr(MM, "_TF32_TRANSPOSE_MIN", 1)
    monkeypatch.setattr(tritongrad.backends.cuda.matmul, "allow_tf32", True)
    launched = []
    fast_launch = MM.fast
    monkeypatch.setattr(MM, "fast", lambda k: launched.append(k) or fast_launch(k))
    x, g = host((70, 45), D.float32, rng), host((70, 33), D.float32, rng)
    out = G.matmul(G.permute(dev(x, D.float32), (1, 0)), dev(g, D.float32))  # (45, 70) @ (70, 33)
    assert launched.count(MM.transpose_kernel) == 2  # NOTE: A M-major and B N-major
    ref = x.T.astype(np.float64) @ g.astype(np.float64)
    np.testing.assert_allclose(back(out), ref, rtol=1e-2, atol=1e-2 * np.abs(ref).max())


def test_config_table_covers_training_products():
    """The table holds every training product's class, each config fits an H100, split-K where the
    output has too few tiles to fill the SMs; the generated file matches the rule it was derived from."""
    from tritongrad.kernels import matmul_configs as C, matmul_table as T
    if not C.MEASURED:
        assert C.CONFIGS == T.derived_table() and "not measured" in C.SOURCE
    for kind in ("fp32", "tf32", "16bit"):
        for M, N, K in T.training_products():
            cfg = T.lookup(kind, M, N, K)
            if cfg == T.PERSISTENT:
                assert kind == "16bit" and M * N * K >= T.PERSISTENT_MIN // 8  # NOTE: classes round up
                continue
            bm, bn, bk, g, w, st, split = cfg
            assert (bm + bn) * bk * (2 if kind == "16bit" else 4) * st <= 228 * 1024
            assert bm <= max(2 * M, 16) and bn <= max(2 * N, 16) and split >= 1 and w in (2, 4, 8)
    fwd = T.lookup("fp32", 64, 100, 1000)  # the tutorial's first layer: 1 x 1 output tiles, K = 1000
    assert fwd[0] == 64 and fwd[6] > 1
    assert T.lookup("16bit", 4096, 4096, 4096) is None  # not a training class: autotuned
    assert T.derive("tf32", 8192, 8192, 8192)[6] == 1  # large products never split K
    assert T.derive("16bit", 8192, 768, 3072) == T.PERSISTENT  # large 16-bit products: the persistent kernel


@pytest.mark.parametrize("dtype", [D.float16, D.bfloat16], ids=str)
@pytest.mark.parametrize("a_t, b_t", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul_tma_persistent(dtype, a_t, b_t, rng, monkeypatch):
    """Large 16-bit products go to the persistent TMA kernel (forced at a small size): every layout
    TMA can address, edges clipped by the descriptors; an unaligned product keeps the tiled kernel."""
    from tritongrad.kernels import matmul as MM, matmul_persistent as P, matmul_table as T
    monkeypatch.setattr(T, "PERSISTENT_MIN", 1)
    monkeypatch.setattr(MM, "_configs", {})  # NOTE: the decisions made here are undone afterwards
    monkeypatch.setattr(P, "CONFIG", dict(BLOCK_M=32, BLOCK_N=32, BLOCK_K=16, GROUP_M=2, num_warps=4, num_stages=2))
    launched = []
    real_fast = MM.fast
    for module in (MM, P):
        monkeypatch.setattr(module, "fast", lambda k: launched.append(k) or real_fast(k))
    M, K, N = 72, 48, 40  # NOTE: rows of 16-byte multiples; more than one tile and group each way
    x, y = host((M, K), dtype, rng, -2, 2), host((K, N), dtype, rng, -2, 2)
    xd = G.permute(dev(np.ascontiguousarray(x.T), dtype), (1, 0)) if a_t else dev(x, dtype)
    yd = G.permute(dev(np.ascontiguousarray(y.T), dtype), (1, 0)) if b_t else dev(y, dtype)
    check_mm(G.matmul(xd, yd), x, y, dtype)
    assert P.matmul_tma_persistent_kernel in launched and MM.matmul_kernel not in launched
    launched.clear()
    z = host((K, 33), dtype, rng, -2, 2)  # NOTE: 66-byte rows: not addressable by TMA
    check_mm(G.matmul(dev(x, dtype), dev(z, dtype)), x, z, dtype)
    assert MM.matmul_kernel in launched and P.matmul_tma_persistent_kernel not in launched

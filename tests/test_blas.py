"""The CPU backend's matrix product (backends/_blas.py): NumPy's values, and the OpenBLAS thread count
the user had is back after every product, small or large."""
import numpy as np
import pytest

from tritongrad.backends import _blas

SHAPES = [((64, 1000), (1000, 100)), ((1000, 64), (64, 100)), ((3, 5), (5, 2)), ((2, 70, 90), (90, 60)),
          ((7,), (7, 3)), ((300, 400), (400, 300))]


@pytest.mark.parametrize("sa,sb", SHAPES)
def test_values_and_thread_count(sa, sb):
    rng = np.random.default_rng()
    a, b = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
    before = _blas._THREADS[0]() if _blas._THREADS else None
    np.testing.assert_allclose(_blas.matmul(a, b), np.matmul(a, b), rtol=1e-5, atol=1e-4)
    if before is not None:
        assert _blas._THREADS[0]() == before


def test_one_thread_inside_small_products(monkeypatch):
    """A product in (2^18, 2^25) multiply-adds runs with OpenBLAS on one thread, then the count returns."""
    if _blas._THREADS is None:
        pytest.skip("NumPy's BLAS is not a bundled OpenBLAS")
    get, put = _blas._THREADS
    user = get()
    put(2)
    seen = []
    real = np.matmul
    monkeypatch.setattr(_blas.np, "matmul", lambda a, b: (seen.append(get()), real(a, b))[1])
    a, b = np.ones((64, 1000), np.float32), np.ones((1000, 100), np.float32)
    _blas.matmul(a, b)
    _blas.matmul(np.ones((3, 4)), np.ones((4, 5)))  # NOTE: small: OpenBLAS is single-threaded anyway
    try:
        assert seen == [1, 2] and get() == 2
    finally:
        put(user)

"""The NumPy backend's vectorized erf and erfc (tritongrad/backends/_npmath.py) against the C
library's (math.erf / math.erfc) over the whole real line, in ulps; erf and exact GELU against
PyTorch (values and gradients, float64 and float32) and float64 finite differences."""
import math

import numpy as np
import pytest
from helpers import TOL, check_grad

import tritongrad as tg
import tritongrad.nn.functional as F
from tritongrad.backends import _npmath


def _ulps(got, ref):
    """|got - ref| in units of ref's last place (of the smallest normal's for subnormal ref)."""
    ref = np.asarray(ref, np.float64)
    ulp = np.spacing(np.maximum(np.abs(ref), np.finfo(np.float64).tiny))
    return np.abs(np.asarray(got, np.float64) - ref) / ulp


def _grid():
    """A dense grid over [-30, 30], every interval's edges and their neighbours, random normals at
    three scales, tiny and subnormal values."""
    rng = np.random.default_rng(11)
    edges = np.array([0.84375, 1.25, 1 / 0.35, 6.0, 28.0, 2.0 ** -28, 0.25])
    edges = np.concatenate([edges, np.nextafter(edges, 0), np.nextafter(edges, 99)])
    return np.concatenate([np.linspace(-30, 30, 240_001), edges, -edges, rng.standard_normal(50_000) * 0.3,
                           rng.standard_normal(50_000) * 2.0, rng.standard_normal(50_000) * 8.0,
                           rng.uniform(-1e-300, 1e-300, 1000), np.array([5e-324, -5e-324, 1e-310, 1e300, -1e300])])


@pytest.mark.parametrize("name,bound", [("erf", 1), ("erfc", 4)])
def test_erf_erfc_match_the_c_library_in_ulps(name, bound):
    """Within `bound` ulps of math.<name> everywhere (both are within 1 ulp of erf's correctly
    rounded value, and erfc within 2-3 ulps of its, checked with mpmath when written)."""
    x = _grid()
    ref = np.array([getattr(math, name)(v) for v in x.tolist()])
    got = getattr(_npmath, name)(x)
    assert got.dtype == np.float64 and got.shape == x.shape
    err = _ulps(got, ref)
    worst = int(np.argmax(err))
    assert err.max() <= bound, f"max {err.max()} ulps at x = {x[worst]!r}"
    # NOTE: and mostly the same bits: over 95% with NumPy 2's exp, 85% for erfc with NumPy 1.26's
    assert np.mean(got == ref) > 0.8


def test_erf_special_values_and_shapes():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 40.0, -40.0])
    for fn in (_npmath.erf, _npmath.erfc):
        got = fn(x)
        ref = np.array([getattr(math, fn.__name__)(v) for v in x.tolist()])
        np.testing.assert_array_equal(got, ref)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(ref))  # erf(-0.0) = -0.0
    zero_d = _npmath.erf(np.array(0.5, np.float32))
    assert isinstance(zero_d, np.ndarray) and zero_d.shape == () and zero_d.dtype == np.float32
    assert _npmath.erf(np.empty((0, 3))).shape == (0, 3)
    x = np.random.default_rng(3).standard_normal((4, 5, 6))
    np.testing.assert_array_equal(_npmath.erf(x.transpose(2, 0, 1)), _npmath.erf(x).transpose(2, 0, 1))


def test_erf_float32_rounds_the_float64_value():
    """float32 (and float16) inputs give erf's float64 value rounded once to their dtype."""
    x = np.random.default_rng(4).standard_normal(20_000).astype(np.float32) * 3
    for dtype in (np.float32, np.float16):
        xs = x.astype(dtype)
        got = _npmath.erf(xs)
        assert got.dtype == dtype
        ref = np.array([math.erf(v) for v in xs.astype(np.float64).tolist()]).astype(dtype)
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_erf_and_exact_gelu_match_pytorch(device, torch, dtype):
    """Values and gradients of erf and GELU(approximate='none') against PyTorch's, over the tails
    too: float64 within 1 ulp, float32 within 2 (PyTorch's CPU erf is SLEEF's, within 1 ulp)."""
    rng = np.random.default_rng(5)
    a = np.concatenate([rng.standard_normal(997) * 2, rng.uniform(-12, 12, 200)])
    for fn, tfn in ((tg.erf, torch.erf), (F.gelu, torch.nn.functional.gelu)):
        x = tg.tensor(a, dtype=getattr(tg, dtype), device=device, requires_grad=True)
        xt = torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True)
        out, ref = fn(x), tfn(xt)
        got, want = out.detach().cpu().numpy(), ref.detach().numpy()
        # NOTE: PyTorch's x * 0.5 * (1 + erf(x / sqrt 2)) cancels for x < 0, to an absolute error of
        # |x| / 2 times erf's (its vectorized float32 erf's is several ulps of 1)
        slack = np.abs(a) * 4 * np.finfo(dtype).eps if fn is F.gelu else 0
        ulps = 2 if dtype == "float32" else 1
        assert (np.abs(got - want) <= ulps * np.spacing(np.abs(want).astype(got.dtype)) + slack).all()
        g = rng.standard_normal(a.shape)
        out.backward(tg.tensor(g, dtype=out.dtype, device=device))
        ref.backward(torch.tensor(g, dtype=ref.dtype))
        np.testing.assert_allclose(x.grad.cpu().numpy(), xt.grad.numpy(), **TOL[dtype])


def test_exact_gelu_lower_tail_keeps_relative_accuracy():
    """gelu(x) = x * Phi(x) with Phi from erfc: no cancellation to 0 in the lower tail (PyTorch's
    0.5 * (1 + erf) gives -0.0 from x = -8.3 on), checked against math.erfc's."""
    x = np.array([-5.0, -9.0, -20.0, -37.0])
    got = F.gelu(tg.tensor(x)).numpy()
    ref = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x.tolist()])
    np.testing.assert_allclose(got, ref, rtol=1e-12)  # NOTE: x / sqrt(2)'s rounding, times 2 x^2 / 2 in erfc
    assert (got < 0).all()


def test_erf_and_gelu_gradients_against_finite_differences(device, rng):
    x = tg.tensor(rng.standard_normal((3, 7)) * 2, device=device, requires_grad=True)
    check_grad(tg.erf, [x])
    x = tg.tensor(rng.standard_normal((5, 4)) * 2, device=device, requires_grad=True)
    check_grad(lambda t: F.gelu(t, approximate="none"), [x])

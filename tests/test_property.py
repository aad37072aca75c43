"""Property tests (hypothesis): random chains of ops on random broadcastable shapes; the gradients
agree with float64 finite differences, and values and gradients with PyTorch when it is installed."""
import numpy as np
import pytest
from helpers import check_grad, numeric_grads
from hypothesis import HealthCheck, given, settings, strategies as st

import tritongrad as tg

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Unary steps keep values in a moderate range (no overflow, no kinks hit by finite differences).
UNARY = {
    "neg": lambda L, x: -x, "square": lambda L, x: x.square() * 0.5, "sigmoid": lambda L, x: x.sigmoid(),
    "tanh": lambda L, x: x.tanh(), "exp": lambda L, x: x.tanh().exp(), "log": lambda L, x: (x.abs() + 0.5).log(),
    "sqrt": lambda L, x: (x * x + 0.25).sqrt(), "pow": lambda L, x: (x.abs() + 0.5) ** 1.5,
    "rpow": lambda L, x: 2 ** x.tanh(), "scalar": lambda L, x: 1.5 - x * 0.5,
    "div_scalar": lambda L, x: 2 / (x.abs() + 1),
    "relu": lambda L, x: x.relu() + x * 0.1, "clamp": lambda L, x: x.clamp(-1.0, 1.0) + x * 0.1,
    "transpose": lambda L, x: (x.transpose(0, -1).sigmoid() * 2).transpose(0, -1),  # back to x's shape
    "view": lambda L, x: x.reshape(-1).reshape(x.shape), "index": lambda L, x: x[..., :1] * x,
}
# Binary steps combine the running value with the second input (shapes broadcast).
BINARY = {
    "add": lambda L, x, y: x + y, "sub": lambda L, x, y: x - y * 2, "mul": lambda L, x, y: x * y,
    "div": lambda L, x, y: x / (y.abs() + 1), "maximum": lambda L, x, y: x.maximum(y),
    "minimum": lambda L, x, y: L.minimum(x, y * 0.5), "where": lambda L, x, y: L.where(x > y, x, y * 2),
    "pow": lambda L, x, y: (x.abs() + 0.5) ** y.tanh(), "add_alpha": lambda L, x, y: x.add(y, alpha=-0.5),
}


def _reduce(L, x, kind, dim):
    dim = dim % x.ndim
    if kind == "sum":
        return x.sum(dim, keepdim=True)
    if kind == "mean":
        return x.mean(dim)
    if kind == "max":
        return x.max(dim).values
    if kind == "min":
        return x.min(dim, keepdim=True)[0]
    return x * 1  # "none"


@st.composite
def shapes_and_chain(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    # the second input broadcasts against the first: leading dims dropped, some dims set to 1
    lead = draw(st.integers(0, ndim - 1))
    other = tuple(1 if draw(st.booleans()) else s for s in shape[lead:])
    if draw(st.booleans()):
        shape, other = other, shape  # either side may be the smaller one
    step = st.one_of(st.sampled_from(sorted(UNARY)), st.sampled_from(["b:" + k for k in sorted(BINARY)]))
    steps = draw(st.lists(step, min_size=1, max_size=6))
    reduce = (draw(st.sampled_from(["sum", "mean", "max", "min", "none"])), draw(st.integers(-3, 2)))
    seed = draw(st.integers(0, 2 ** 31 - 1))
    return shape, other, steps, reduce, seed


def run_chain(L, x, y, steps, reduce):
    h = x
    for s in steps:
        h = BINARY[s[2:]](L, h, y) if s.startswith("b:") else UNARY[s](L, h)
    h = h + y * 0.25  # y always takes part
    return _reduce(L, h, *reduce)


def _inputs(shape, other, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), rng.standard_normal(other)


@SETTINGS
@given(shapes_and_chain())
def test_random_chain_gradient_vs_finite_differences(case):
    shape, other, steps, reduce, seed = case
    a, b = _inputs(shape, other, seed)
    x = tg.tensor(a, dtype=tg.float64, requires_grad=True)
    y = tg.tensor(b, dtype=tg.float64, requires_grad=True)
    check_grad(lambda x, y: run_chain(tg, x, y, steps, reduce), [x, y], atol=1e-5, rtol=1e-4)


@SETTINGS
@given(shapes_and_chain())
def test_random_chain_matches_pytorch(case):
    torch = pytest.importorskip("torch")
    shape, other, steps, reduce, seed = case
    a, b = _inputs(shape, other, seed)
    res = {}
    for L in (tg, torch):
        x = L.tensor(a, dtype=L.float64, requires_grad=True)
        y = L.tensor(b, dtype=L.float64, requires_grad=True)
        out = run_chain(L, x, y, steps, reduce)
        w = np.random.default_rng(seed + 1).standard_normal(tuple(out.shape))
        out.backward(L.tensor(w, dtype=L.float64))
        res[L] = [out.detach().numpy(), x.grad.numpy(), y.grad.numpy(), tuple(out.shape)]
    assert res[tg][3] == res[torch][3]
    for p, q in zip(res[tg][:3], res[torch][:3]):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)


@SETTINGS
@given(shapes_and_chain())
def test_random_chain_second_derivative(case):
    """grad of (d out / dx . w) vs finite differences of the first derivative, through the same chain."""
    shape, other, steps, reduce, seed = case
    a, b = _inputs(shape, other, seed)
    y = tg.tensor(b, dtype=tg.float64)

    def first(x):
        plain = not x.requires_grad
        if plain:
            x = x.detach().requires_grad_()
        (g,) = tg.autograd.grad(run_chain(tg, x, y, steps, reduce).sum(), x, create_graph=True)
        return g.detach() if plain else g

    x = tg.tensor(a, dtype=tg.float64, requires_grad=True)
    (expected,), w = numeric_grads(first, [x])
    g = first(x)
    if g.requires_grad:
        g.backward(tg.tensor(w, dtype=tg.float64))
    # NOTE: a piecewise-linear chain (relu, clamp, adds) has a zero second derivative: no gradient reaches x
    got = x.grad.numpy() if x.grad is not None else np.zeros_like(expected)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-3)


@pytest.mark.cuda
@pytest.mark.skipif(not tg.cuda.is_available(), reason="no CUDA device (set TRITONGRAD_EMULATE_CUDA=1 to emulate one)")
@pytest.mark.filterwarnings("ignore::RuntimeWarning:triton.*")
@settings(max_examples=25, deadline=None)
@given(shapes_and_chain())
def test_random_chain_on_cuda_matches_cpu(case):
    """The same chain on CUDA (real, or Triton's interpreter) and on the CPU, forward and backward."""
    shape, other, steps, reduce, seed = case
    a, b = _inputs(shape, other, seed)
    res = {}
    for device in ("cpu", "cuda"):
        x = tg.tensor(a, dtype=tg.float64, device=device, requires_grad=True)
        y = tg.tensor(b, dtype=tg.float64, device=device, requires_grad=True)
        out = run_chain(tg, x, y, steps, reduce)
        w = np.random.default_rng(seed + 1).standard_normal(tuple(out.shape))
        out.backward(tg.tensor(w, dtype=tg.float64, device=device))
        res[device] = [t.detach().cpu().numpy() for t in (out, x.grad, y.grad)]
    for p, q in zip(res["cpu"], res["cuda"]):
        np.testing.assert_allclose(q, p, rtol=1e-9, atol=1e-12)

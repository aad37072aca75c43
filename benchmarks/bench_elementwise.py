"""Elementwise kernels: unary, binary (same shape and broadcast), and fused backward kernels.

Forward cases (mode fwd): `exp(x)`, `x * y`, and `x + b` with a row `b` broadcast over
(n / 1024, 1024). Backward cases (mode bwd): the gradient of relu, clamp and pow(3) for a given
output gradient g, through autograd.grad on a recorded graph (tritongrad runs one fused kernel
each: threshold_backward, clamp_backward, pow_backward). NumPy gets the same math written by hand.

Bytes per call (float32, n elements): unary 2 * 4n, binary 3 * 4n, broadcast add 2 * 4n + 4 * 1024,
fused backward 3 * 4n (read x and g, write dx): the least traffic each op needs.
"""
import numpy as np
import pytest
from benchlib import Provider, cases, measure, pow2_label, sizes

SIZES = sizes([2**10, 2**16], [2**10, 2**16, 2**20, 2**24, 2**26, 2**28])
CPU_MAX = 2**22
PROVIDERS = ["tritongrad-cuda", "torch-cuda", "tritongrad-cpu", "numpy", "torch-cpu"]
ROW = 1024


def _run(benchmark, P, n, case, fn, nbytes, mode="fwd"):
    measure(benchmark, P, fn, family="elementwise", case=case, size=pow2_label(n), x=n, mode=mode, bytes=nbytes,
            pipelined=True)


@pytest.mark.parametrize("provider,n", cases(PROVIDERS, SIZES, CPU_MAX))
def test_exp(benchmark, provider, n):
    P = Provider(provider)
    x = P.randn(n)
    _run(benchmark, P, n, "exp", lambda: P.mod.exp(x), 2 * 4 * n)


@pytest.mark.parametrize("provider,n", cases(PROVIDERS, SIZES, CPU_MAX))
def test_mul(benchmark, provider, n):
    P = Provider(provider)
    x, y = P.randn(n), P.randn(n)
    _run(benchmark, P, n, "mul", lambda: x * y, 3 * 4 * n)


@pytest.mark.parametrize("provider,n", cases(PROVIDERS, SIZES, CPU_MAX))
def test_add_broadcast(benchmark, provider, n):
    """(n / 1024, 1024) + (1024,): the bias add of a linear layer."""
    P = Provider(provider)
    x, b = P.randn(n // ROW, ROW), P.randn(ROW)
    _run(benchmark, P, n, "add-bcast", lambda: x + b, 2 * 4 * n + 4 * ROW)


# --- fused backward ----------------------------------------------------------------------------------
def _numpy_bwd(case, x, g):
    """The same gradients as NumPy expressions (no autograd there)."""
    if case == "relu-bwd":
        return lambda: np.where(x > 0, g, np.float32(0))
    if case == "clamp-bwd":
        return lambda: np.where((x >= -0.5) & (x <= 0.5), g, np.float32(0))
    return lambda: np.float32(3) * x * x * g


@pytest.mark.parametrize("case", ["relu-bwd", "clamp-bwd", "pow-bwd"])
@pytest.mark.parametrize("provider,n", cases(PROVIDERS, SIZES, CPU_MAX))
def test_fused_backward(benchmark, provider, n, case):
    """dx for y = relu(x) / clamp(x, -0.5, 0.5) / x ** 3, given dy: autograd.grad on one recorded node."""
    P = Provider(provider)
    g = P.randn(n)
    if P.lib == "numpy":
        fn = _numpy_bwd(case, P.randn(n), g)
    else:
        x = P.randn(n, requires_grad=True)
        y = {"relu-bwd": lambda: x.relu(), "clamp-bwd": lambda: x.clamp(-0.5, 0.5), "pow-bwd": lambda: x.pow(3)}[case]()
        fn = lambda: P.grad(y, x, g)
    _run(benchmark, P, n, case, fn, 3 * 4 * n, mode="bwd")

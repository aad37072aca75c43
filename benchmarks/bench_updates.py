"""In-place updates: `sub_` with alpha (the SGD step), `mul_`, `zero_`, and `copy_`.

`copy_` between two contiguous device tensors is also the suite's bandwidth reference: the
report takes the best copy rate measured in the run (tritongrad, PyTorch's copy_, CuPy's copyto)
at 2^26 elements and up as "the device's measured copy bandwidth".

Bytes per call (float32, n elements): sub_ 3 * 4n (read p and g, write p), mul_ 2 * 4n,
zero_ 4n (write only), copy_ 2 * 4n.
"""
import numpy as np
import pytest
from benchlib import Provider, cases, measure, pow2_label, sizes

SIZES = sizes([2**10, 2**16], [2**10, 2**16, 2**20, 2**24, 2**26, 2**28])
CPU_MAX = 2**22
PROVIDERS = ["tritongrad-cuda", "torch-cuda", "tritongrad-cpu", "numpy", "torch-cpu"]
LR = 1e-3


def _run(benchmark, provider, n, case, fn, nbytes):
    measure(benchmark, provider, fn, family="updates", case=case, size=pow2_label(n), x=n, bytes=nbytes,
            pipelined=True)


@pytest.mark.parametrize("provider,n", cases(PROVIDERS, SIZES, CPU_MAX))
def test_sub_(benchmark, provider, n):
    """p.sub_(g, alpha=lr): the plain SGD step."""
    P = Provider(provider)
    p, g = P.randn(n), P.randn(n)
    if P.lib == "numpy":
        fn = lambda: np.subtract(p, LR * g, out=p)  # NOTE: NumPy has no fused axpy: two passes
    else:
        fn = lambda: p.sub_(g, alpha=LR)
    _run(benchmark, P, n, "sub_", fn, 3 * 4 * n)


@pytest.mark.parametrize("provider,n", cases(PROVIDERS, SIZES, CPU_MAX))
def test_mul_(benchmark, provider, n):
    """p.mul_(0.999): a scalar scale in place (weight decay, momentum)."""
    P = Provider(provider)
    p = P.randn(n)
    fn = (lambda: np.multiply(p, 0.999, out=p)) if P.lib == "numpy" else (lambda: p.mul_(0.999))
    _run(benchmark, P, n, "mul_", fn, 2 * 4 * n)


@pytest.mark.parametrize("provider,n", cases(PROVIDERS, SIZES, CPU_MAX))
def test_zero_(benchmark, provider, n):
    """p.zero_(): what `w.grad.zero_()` costs each step."""
    P = Provider(provider)
    p = P.randn(n)
    fn = (lambda: p.fill(0)) if P.lib == "numpy" else p.zero_
    _run(benchmark, P, n, "zero_", fn, 4 * n)


@pytest.mark.parametrize("provider,n", cases(PROVIDERS + ["cupy"], SIZES, CPU_MAX))
def test_copy_(benchmark, provider, n):
    """dst.copy_(src), device to device: the copy bandwidth every bandwidth-bound kernel is held to."""
    P = Provider(provider)
    src, dst = P.randn(n), P.randn(n)
    if P.lib in ("numpy", "cupy"):
        fn = lambda: P.mod.copyto(dst, src)
    else:
        fn = lambda: dst.copy_(src)
    _run(benchmark, P, n, "copy_", fn, 2 * 4 * n)

"""Random number generation: the CPU stream (PyTorch's mt19937 numbers, bit for bit) and CUDA's Philox.

Cases, for n elements: randn and randn-f64 (Box-Muller: float32 in avx_mathfun's polynomials,
float64 in the C library's log/cos/sin), rand, randint(0, 10), normal_(0.5, 2) and exponential_
in place, randperm. n = 3 measures the per-call overhead of a tiny draw (the scalar path of a
normal). numpy is NumPy's own generator (default_rng, its PCG64 and ziggurat normals): the speed
of random numbers in NumPy, not the same numbers.

    python -m pytest benchmarks/bench_random.py --benchmark-enable
"""
import numpy as np
import pytest
from benchlib import Provider, cases, measure, pow2_label, sizes

SIZES = sizes([3, 2**16], [3, 2**10, 2**16, 2**20])
CPU_MAX = 2**20
PROVIDERS = ["tritongrad-cpu", "torch-cpu", "numpy", "tritongrad-cuda", "torch-cuda"]


def _draw(P, case, n):
    """The call of one case: a library function of the provider's module on its device."""
    if P.lib == "numpy":
        rng = np.random.default_rng(0)
        return {"randn": lambda: rng.standard_normal(n, np.float32), "randn-f64": lambda: rng.standard_normal(n),
                "rand": lambda: rng.random(n, np.float32), "randint": lambda: rng.integers(0, 10, n),
                "normal_": lambda: rng.normal(0.5, 2.0, n).astype(np.float32),
                "exponential_": lambda: rng.standard_exponential(n, np.float32),
                "randperm": lambda: rng.permutation(n)}[case]
    T, dev = P.mod, P.device
    buf = T.empty(n, device=dev)
    return {"randn": lambda: T.randn(n, device=dev), "randn-f64": lambda: T.randn(n, dtype=T.float64, device=dev),
            "rand": lambda: T.rand(n, device=dev), "randint": lambda: T.randint(0, 10, (n,), device=dev),
            "normal_": lambda: buf.normal_(0.5, 2.0), "exponential_": lambda: buf.exponential_(),
            "randperm": lambda: T.randperm(n, device=dev)}[case]


@pytest.mark.parametrize("case", ["randn", "randn-f64", "rand", "randint", "normal_", "exponential_", "randperm"])
@pytest.mark.parametrize("provider,n", cases(PROVIDERS, SIZES, CPU_MAX))
def test_random(benchmark, provider, n, case):
    P = Provider(provider)
    if P.lib != "numpy":
        P.mod.manual_seed(0)
    itemsize = 8 if case in ("randn-f64", "randint", "randperm") else 4
    measure(benchmark, P, _draw(P, case, n), family="random", case=case, size=pow2_label(n), x=n,
            dtype="float64" if case == "randn-f64" else "float32", bytes=itemsize * n)

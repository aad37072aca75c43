"""Special functions: erf and the exact GELU, x * Phi(x) (approximate='none'), on standard normal x.

NumPy has no erf: the NumPy backend's is backends/_npmath.py (fdlibm's rational approximations,
vectorized); there is no numpy provider. Bytes per call (float32, n elements): 2 * 4n. Kept out of
the elementwise family, whose copy-bandwidth targets are for the basic kernels.

    python -m pytest benchmarks/bench_special.py --benchmark-enable
"""
import pytest
from benchlib import Provider, cases, measure, pow2_label, sizes

SIZES = sizes([2**10, 2**16], [2**10, 2**16, 2**20, 2**24, 2**26])
CPU_MAX = 2**22
PROVIDERS = ["tritongrad-cuda", "torch-cuda", "tritongrad-cpu", "torch-cpu"]


@pytest.mark.parametrize("case", ["erf", "gelu"])
@pytest.mark.parametrize("provider,n", cases(PROVIDERS, SIZES, CPU_MAX))
def test_erf_gelu(benchmark, provider, n, case):
    P = Provider(provider)
    x = P.randn(n)
    fn = (lambda: P.mod.erf(x)) if case == "erf" else (lambda: P.mod.nn.functional.gelu(x))
    measure(benchmark, P, fn, family="special", case=case, size=pow2_label(n), x=n, bytes=2 * 4 * n, pipelined=True)

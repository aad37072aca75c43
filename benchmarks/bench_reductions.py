"""Reductions: sum and mean over all elements and over one dim of an (n / 1024, 1024) matrix.

Cases: sum-all, mean-all, sum-dim0 (columns: 1024 outputs, a long strided reduction), sum-dim1
and mean-dim1 (rows: n / 1024 outputs of 1024 contiguous elements each).
Bytes per call (float32): 4n read plus the output written.
"""
import pytest
from benchlib import Provider, cases, measure, pow2_label, sizes

SIZES = sizes([2**10, 2**16], [2**10, 2**16, 2**20, 2**24, 2**26, 2**28])
CPU_MAX = 2**22
PROVIDERS = ["tritongrad-cuda", "torch-cuda", "tritongrad-cpu", "numpy", "torch-cpu"]
ROW = 1024

CASES = {
    # case: (op, dim, number of outputs for n elements)
    "sum-all": ("sum", None, lambda n: 1),
    "mean-all": ("mean", None, lambda n: 1),
    "sum-dim0": ("sum", 0, lambda n: ROW),
    "sum-dim1": ("sum", 1, lambda n: n // ROW),
    "mean-dim1": ("mean", 1, lambda n: n // ROW),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("provider,n", cases(PROVIDERS, SIZES, CPU_MAX))
def test_reduce(benchmark, provider, n, case):
    P = Provider(provider)
    op, dim, outputs = CASES[case]
    x = P.randn(n // ROW, ROW)
    if P.lib == "numpy":
        fn = (lambda: getattr(x, op)()) if dim is None else (lambda: getattr(x, op)(axis=dim))
    else:
        fn = (lambda: getattr(x, op)()) if dim is None else (lambda: getattr(x, op)(dim))
    measure(benchmark, P, fn, family="reductions", case=case, size=pow2_label(n), x=n,
            bytes=4 * (n + outputs(n)), pipelined=True)

"""Matrix multiplication: square n x n @ n x n in fp32 (ieee), fp32 with TF32 allowed, fp16, bf16.

The cuBLAS reference is PyTorch's matmul on CUDA (provider torch-cuda), with
torch.backends.cuda.matmul.allow_tf32 set like tg.backends.cuda.matmul.allow_tf32 for "tf32".

Modes: fwd (c = a @ b: 2 n^3 flops), bwd (dA = g @ b^T and dB = a^T @ g through autograd.grad on
a recorded graph: 4 n^3) and full (forward and backward: 6 n^3). Backward modes run at 4096 and
1024, in bf16 only on the GPU: each new operand layout autotunes and compiles every config again,
and the whole GPU check has a time budget.

Skipped on purpose: 8192^3 in fp32 ieee (no tensor cores: tens of ms per call and a long
autotuning, for the time budget); CPU providers beyond 1024 and in 16-bit types (NumPy has no
bfloat16 and computes float16 products slowly in software).
"""
import pytest
from benchlib import QUICK, Provider, cases, measure, sizes

SIZES = sizes([64, 128], [4096, 8192, 256, 1024, 2048])  # NOTE: the target sizes first, for the budget
BWD_SIZES = sizes([64], [4096, 1024])
CPU_MAX = 1024
GPU = ["tritongrad-cuda", "torch-cuda"]
CPU = ["tritongrad-cpu", "numpy", "torch-cpu"]
DTYPES = ["bfloat16", "float16", "tf32", "float32"]  # NOTE: the targets first, for the budget


def _skip(provider, n, dtype):
    if dtype == "float32" and n >= 8192 and not QUICK:
        return "8192^3 fp32 ieee is skipped for the time budget (no tensor cores: a long autotuning)"
    return None


def _params(dtypes, size_list, gpu_dtypes=DTYPES):
    """(dtype, provider, n): GPU providers in `gpu_dtypes`, CPU providers in float32 only.

    Size by size, each provider after the other, so that a run cut short by its time budget still
    has the cuBLAS peer of every tritongrad case it measured.
    """
    out, seen = [], set()
    for dtype in dtypes:
        providers = (GPU if dtype in gpu_dtypes else []) + (CPU if dtype == "float32" else [])
        for n in size_list:
            for p in cases(providers, [n], CPU_MAX, skip=lambda p, n, d=dtype: _skip(p, n, d)):
                provider, reason = p.values[0], [m.kwargs["reason"] for m in p.marks]
                if reason and (dtype, provider, reason[0]) in seen:
                    continue  # NOTE: a provider that cannot run here is listed once, not once per size
                seen.add((dtype, provider, reason[0]) if reason else None)
                out.append(pytest.param(dtype, provider, n, marks=p.marks, id=f"{dtype}-{provider}-{n}"))
    return out


def _operands(P, n, dtype, requires_grad=False):
    return P.randn(n, n, dtype=dtype, requires_grad=requires_grad), P.randn(n, n, dtype=dtype,
                                                                          requires_grad=requires_grad)


@pytest.mark.parametrize("dtype,provider,n", _params(DTYPES, SIZES))
def test_matmul_fwd(benchmark, dtype, provider, n):
    P = Provider(provider)
    a, b = _operands(P, n, dtype)
    with P.precision(dtype):
        measure(benchmark, P, lambda: a @ b, family="matmul", case="matmul", size=f"{n}^3", x=n, dtype=dtype,
                mode="fwd", flops=2 * n**3, pipelined=True)


@pytest.mark.parametrize("mode", ["bwd", "full"])
@pytest.mark.parametrize("dtype,provider,n", _params(["bfloat16", "float32"], BWD_SIZES,
                                                    gpu_dtypes=DTYPES if QUICK else ["bfloat16"]))
def test_matmul_bwd(benchmark, dtype, provider, n, mode):
    """bwd: both input gradients of a recorded `a @ b`; full: the product and then both gradients."""
    P = Provider(provider)
    a, b = _operands(P, n, dtype, requires_grad=P.lib != "numpy")
    g = P.randn(n, n, dtype=dtype)
    with P.precision(dtype):
        if P.lib == "numpy":  # NOTE: no autograd: the same two products written out
            bwd = lambda: (g @ b.T, a.T @ g)
            fn = bwd if mode == "bwd" else (lambda: (a @ b, bwd()))
        elif mode == "bwd":
            c = a @ b
            fn = lambda: P.grad(c, (a, b), g)
        else:
            fn = lambda: P.grad(a @ b, (a, b), g)
        measure(benchmark, P, fn, family="matmul", case="matmul", size=f"{n}^3", x=n, dtype=dtype, mode=mode,
                flops=(4 if mode == "bwd" else 6) * n**3, pipelined=True)

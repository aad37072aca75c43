"""Host overhead of the CUDA code path, measured without a GPU (stubbed CUDA), beside the NumPy
backend and PyTorch on the CPU.

    TRITONGRAD_STUB_CUDA=1 python -m pytest benchmarks/bench_host.py --benchmark-enable
    TRITONGRAD_STUB_CUDA=1 python scripts/host_profile.py          # the same cases: table + where time goes

Providers:
- tritongrad-stub: tensors on "cuda" in stubbed mode (tritongrad/cuda/stub.py): every op takes the
  GPU run's path (op recording, engine, allocator, launch preparation, our fast launcher and
  Triton's own C launcher, kernels compiled for sm_90) down to the driver, which is a stand-in.
  NOT a GPU figure: it leaves out the driver's own work (cuLaunchKernelEx, a few microseconds per
  launch on an H100; pool allocations, which the caching allocator makes rare) and all kernel time.
  Needs TRITONGRAD_STUB_CUDA=1 in the environment of the run; skipped otherwise.
- tritongrad-cpu: the NumPy backend; torch-cpu: PyTorch eager on the CPU (one thread each).

Cases (group "host/<case>/float32/eager"): per-op cases on 2^10 elements (the in-place updates
`copy_`, `zero_`, `sub_` with alpha, `mul_`; out-of-place `add`, `mul` by a scalar, `relu`, `sum`;
`mm` 64x64x64; `empty` + `zeros` creation) and the training steps of bench_overhead.py (tiny_chain,
rosenbrock_step, net_small_step, net_large_step; each ends with a device synchronization, as there).
"""
import math
import os

import numpy as np
import pytest
from bench_overhead import CASES as STEPS
from benchlib import torch

import tritongrad as tg

STUBBED = tg.cuda.is_stubbed()
PROVIDERS = ["tritongrad-stub", "tritongrad-cpu", "torch-cpu"]
N = 2**10
LR = 1e-3


def _lib(provider):
    """(library, device, name for bench_overhead's builders) of a provider."""
    if provider == "tritongrad-stub":
        return tg, "cuda", "tritongrad-cuda"
    lib, _, device = provider.partition("-")
    return (tg if lib == "tritongrad" else torch), device, provider


def _per_op(op):
    """A builder of one per-op case: `op(lib, device, a, b)` on two 2^10-element tensors."""
    def build(provider, rng):
        lib, device, _ = _lib(provider)
        a, b = (lib.tensor(rng.standard_normal(N).astype(np.float32), device=device) for _ in range(2))
        return lambda: op(lib, device, a, b)
    return build


def _mm(provider, rng):
    lib, device, _ = _lib(provider)
    a, b = (lib.tensor(rng.standard_normal((64, 64)).astype(np.float32), device=device) for _ in range(2))
    return lambda: a.mm(b)


def _creation(lib, device, a, b):
    lib.empty(N, device=device)
    return lib.zeros(N, device=device)


def _step(name):
    def build(provider, rng):
        return STEPS[name][3](_lib(provider)[2], rng)
    return build


# case -> (description, builder(provider, rng) -> a callable doing one call)
CASES = {
    "copy_": ("b.copy_(a), 2^10 float32", _per_op(lambda lib, d, a, b: b.copy_(a))),
    "zero_": ("a.zero_(), 2^10", _per_op(lambda lib, d, a, b: a.zero_())),
    "sub_": ("a.sub_(b, alpha=lr): the SGD step, 2^10", _per_op(lambda lib, d, a, b: a.sub_(b, alpha=LR))),
    "mul_": ("a.mul_(0.999), 2^10", _per_op(lambda lib, d, a, b: a.mul_(0.999))),
    "add": ("a + b, 2^10 (allocates the result)", _per_op(lambda lib, d, a, b: a + b)),
    "mul_scalar": ("a * 2.0, 2^10", _per_op(lambda lib, d, a, b: a * 2.0)),
    "relu": ("a.relu(), 2^10", _per_op(lambda lib, d, a, b: a.relu())),
    "sum": ("a.sum(), 2^10", _per_op(lambda lib, d, a, b: a.sum())),
    "creation": ("empty(2^10) + zeros(2^10)", _per_op(_creation)),
    "mm": ("a.mm(b), 64x64 @ 64x64", _mm),
    **{name: (STEPS[name][2], _step(name)) for name in ("tiny_chain", "rosenbrock_step", "net_small_step",
                                                        "net_large_step")},
}


def unavailable(provider):
    if provider == "tritongrad-stub" and not STUBBED:
        return "stubbed CUDA only: run with TRITONGRAD_STUB_CUDA=1 in the environment"
    if provider == "torch-cpu" and torch is None:
        return "PyTorch is not importable here"
    return None


def _params():
    out = []
    for case in CASES:
        for provider in PROVIDERS:
            why = unavailable(provider)
            out.append(pytest.param(case, provider, marks=[pytest.mark.skip(reason=why)] if why else []))
    return out


@pytest.fixture
def one_thread():
    """PyTorch on one thread, as the other providers: this measures per-op overhead."""
    before = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    yield
    if torch is not None:
        torch.set_num_threads(before)


@pytest.mark.parametrize("case, provider", _params())
def test_host(benchmark, one_thread, case, provider):
    description, build = CASES[case]
    call = build(provider, np.random.default_rng(0))
    call()  # NOTE: the first call compiles kernels (stub: for sm_90) and warms caches: never timed
    benchmark.group = f"host/{case}/float32/eager"
    benchmark.extra_info.update(family="host", case=case, provider=provider,
                                device="cuda-stub" if provider == "tritongrad-stub" else "cpu",
                                size=str(N), x=N, dtype="float32", mode="eager", description=description,
                                cpu_count=os.cpu_count())
    out = benchmark(call)
    if out is not None and hasattr(out, "item") and out.numel() == 1:
        assert math.isfinite(out.item())

"""Shared helpers of the benchmark suite: providers, sizes, parameter lists and the timed call.

A *provider* is one framework on one device: "tritongrad-cuda", "tritongrad-cpu", "numpy",
"torch-cpu", "torch-cuda" and, for the copy reference only, "cupy". Each benchmark is parametrized
over `cases(providers, sizes)`, which drops what cannot run here (with a clear skip reason, once)
and caps the CPU providers at sizes they finish in a sensible time.

Modes:
- full (a real GPU, no TRITONGRAD_BENCH_QUICK): sizes from tiny to large, rounds chosen so that
  each case takes about TRITONGRAD_BENCH_CASE_S seconds (default 0.2) of timed work, and an
  optional TRITONGRAD_BENCH_BUDGET_S wall-clock budget for the whole run, after which the
  remaining cases skip (so that a results file is still written).
- quick (TRITONGRAD_BENCH_QUICK=1, or automatically when CUDA is emulated or absent): small
  sizes and few rounds: a smoke test that runs on the CPU in CI. TRITONGRAD_BENCH_QUICK=0 forces
  the full sizes without a GPU (the CPU providers alone).

CUDA providers are meaningful only on a real GPU. Under emulated CUDA (Triton's interpreter,
about 1 ms per program) the tritongrad-cuda cases skip, unless TRITONGRAD_BENCH_EMULATED=1, which
runs them at the smallest size only, to prove the plumbing (scripts/gpu_check.sh's dry run).

Every case records `benchmark.extra_info`: family, case, provider, device, size (a label),
x (the numeric size: elements, or n of an n^3 matmul), dtype, mode, and bytes or flops of one
call, from which scripts/bench_report.py computes GB/s and TFLOP/s. Times synchronize the device
inside the timed callable; the first calls (compilation, autotuning) are not timed.

Throughput cases (`pipelined=True`: the kernel families) on a GPU time `calls` launches per
synchronization (extra_info["calls"], enough for about 2 ms of work), as CUDA events would: the
host's launch latency overlaps the previous kernel, so the figure is the device's. Latency cases
(training steps, overhead) synchronize after every call.
"""
import contextlib
import importlib.util
import os
import time

import numpy as np
import pytest

import tritongrad as tg

if tg.cuda.is_stubbed():
    tg.cuda.init()  # NOTE: the stand-in libcuda loaded before torch (or CuPy) could load NVIDIA's (bench_host.py)
REAL_CUDA = tg.cuda.is_available() and not tg.cuda.is_emulated() and not tg.cuda.is_stubbed()
EMULATED = tg.cuda.is_emulated()
# NOTE: unset: quick unless on a real GPU; "0" forces full sizes (e.g. the CPU providers alone)
QUICK = os.environ.get("TRITONGRAD_BENCH_QUICK", "") not in ("", "0") or (
    not REAL_CUDA and os.environ.get("TRITONGRAD_BENCH_QUICK") != "0")
RUN_EMULATED = EMULATED and os.environ.get("TRITONGRAD_BENCH_EMULATED", "0") not in ("", "0")
CASE_S = float(os.environ.get("TRITONGRAD_BENCH_CASE_S", "0.02" if QUICK else "0.2"))
BUDGET_S = float(os.environ.get("TRITONGRAD_BENCH_BUDGET_S", "0") or 0)
MAX_ROUNDS = 3 if QUICK else 200
START = time.monotonic()

if REAL_CUDA or EMULATED:
    import tritongrad.backends.cuda  # noqa: F401  NOTE: makes tg.backends.cuda.matmul (allow_tf32) reachable


def _import(name):
    """The module, or None when it is not installed or fails to import."""
    try:
        return __import__(name) if importlib.util.find_spec(name) is not None else None
    except Exception:  # NOTE: e.g. cupy without a CUDA runtime, or torch blocked (TRITONGRAD_BLOCK_TORCH=1)
        return None


torch = _import("torch")
TORCH_CUDA = torch is not None and REAL_CUDA and torch.cuda.is_available()
cupy = _import("cupy") if REAL_CUDA else None
if cupy is not None:
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception:
        cupy = None

_WHY_GPU = "CUDA-provider benchmarks are meaningful only on a real GPU"
if EMULATED:
    _WHY_GPU += " (CUDA is emulated here: TRITONGRAD_BENCH_EMULATED=1 runs tritongrad-cuda at the smallest size)"
else:
    _WHY_GPU += " (no GPU here)"


def unavailable(provider):
    """Why `provider` cannot run here, or None when it can."""
    if provider == "tritongrad-cuda":
        return None if REAL_CUDA or RUN_EMULATED else _WHY_GPU
    if provider.startswith("torch") and torch is None:
        return "PyTorch is not importable here (not installed, or blocked by TRITONGRAD_BLOCK_TORCH=1)"
    if provider == "torch-cuda" and not TORCH_CUDA:
        return "PyTorch has no CUDA device here" if REAL_CUDA else _WHY_GPU
    if provider == "cupy" and cupy is None:
        return "CuPy is not installed or has no GPU" if REAL_CUDA else _WHY_GPU
    return None


def is_cuda(provider):
    return provider.endswith("-cuda") or provider == "cupy"


def sizes(quick, full):
    """The size list of this mode."""
    return list(quick if QUICK else full)


def cases(providers, size_list, cpu_max=None, skip=None):
    """(provider, size) parameters: every provider at every size, except that CPU providers stop at
    `cpu_max` (their time would eat the budget), emulated CUDA runs the smallest size only, and a
    provider that cannot run here appears once, skipped with the reason.

    `skip(provider, size)` may return a reason to skip one case (shown in the log).
    """
    params = []
    for p in providers:
        why = unavailable(p)
        if why:
            params.append(pytest.param(p, size_list[0], marks=pytest.mark.skip(reason=why)))
            continue
        chosen = size_list
        if EMULATED and p == "tritongrad-cuda":
            chosen = size_list[:1]
        elif not is_cuda(p) and cpu_max is not None:
            chosen = [s for s in size_list if _magnitude(s) <= cpu_max]  # NOTE: may be none at all
        for s in chosen:
            reason = skip(p, s) if skip else None
            marks = [pytest.mark.skip(reason=reason)] if reason else []
            params.append(pytest.param(p, s, marks=marks))
    return params


def _magnitude(size):
    return size if isinstance(size, (int, float)) else max(size)


# --- providers ---------------------------------------------------------------------------------------
class Provider:
    """One framework on one device: random tensors, dtypes, synchronization, autograd.grad."""

    def __init__(self, name):
        self.name = name
        self.lib, _, dev = name.partition("-")
        self.device = "cuda" if self.lib == "cupy" else dev or "cpu"
        self.mod = {"tritongrad": tg, "torch": torch, "numpy": np, "cupy": cupy}[self.lib]
        self.rng = np.random.default_rng(0)

    def dtype(self, name):
        """The framework's dtype for "float32" / "float16" / "bfloat16" ("tf32" is float32)."""
        name = "float32" if name == "tf32" else name
        if self.lib in ("numpy", "cupy"):
            if name == "bfloat16":
                pytest.skip(f"{self.lib} has no bfloat16")
            return np.dtype(name)
        return getattr(self.mod, name)

    def randn(self, *shape, dtype="float32", requires_grad=False):
        """Standard normal random numbers of `shape`, made on the provider's device."""
        dt = self.dtype(dtype)
        if self.lib == "numpy":
            return self.rng.standard_normal(shape, np.float32).astype(dt, copy=False)
        if self.lib == "cupy":
            return cupy.random.standard_normal(shape, dtype=np.float32).astype(dt, copy=False)
        return self.mod.randn(*shape, dtype=dt, device=self.device, requires_grad=requires_grad)

    def sync(self):
        """Wait until the device has finished the work queued so far."""
        if self.device != "cuda":
            return
        if self.lib == "tritongrad":
            tg.cuda.synchronize()
        elif self.lib == "torch":
            torch.cuda.synchronize()
        else:
            cupy.cuda.runtime.deviceSynchronize()

    def grad(self, outputs, inputs, grad_outputs):
        """autograd.grad with retain_graph=True, so that the same graph can run backward again."""
        return self.mod.autograd.grad(outputs, inputs, grad_outputs, retain_graph=True)

    @contextlib.contextmanager
    def precision(self, dtype):
        """For dtype "tf32": let float32 matmuls use TF32 tensor cores while inside."""
        if dtype != "tf32" or self.device != "cuda":
            yield
            return
        flags = tg.backends.cuda.matmul if self.lib == "tritongrad" else torch.backends.cuda.matmul
        old, flags.allow_tf32 = flags.allow_tf32, True
        try:
            yield
        finally:
            flags.allow_tf32 = old


# --- timing ------------------------------------------------------------------------------------------
def check_budget():
    """Skip the calling case once the run's wall-clock budget (TRITONGRAD_BENCH_BUDGET_S) is spent."""
    if BUDGET_S and time.monotonic() - START > BUDGET_S:
        pytest.skip(f"time budget of {BUDGET_S:g} s for the benchmark run is spent (TRITONGRAD_BENCH_BUDGET_S)")


def measure(benchmark, provider, fn, *, family, case, size, x, dtype="float32", mode="fwd", bytes=None,
            flops=None, rounds=None, pipelined=False):
    """Time `fn()` followed by a device synchronization, and record what the report needs.

    The first call (compilation, autotuning, allocator warm-up) and a second, calibrating call are
    not timed; rounds are then chosen so that the timed calls take about CASE_S seconds.

    Args:
        benchmark: pytest-benchmark's fixture.
        provider: a Provider.
        fn: the work of one call, without synchronization.
        family, case, size, x, dtype, mode: labels (size is text, x its number for the plot's axis).
        bytes / flops: the memory traffic / floating-point operations of one call.
        rounds: a fixed number of rounds instead of the calibrated one.
        pipelined: a throughput case: on a GPU, several calls per synchronization (module docstring).
    """
    check_budget()
    sync = provider.sync

    def call():
        out = fn()
        sync()
        return out

    benchmark.group = f"{family}/{case}/{dtype}/{mode}"
    benchmark.extra_info.update(family=family, case=case, provider=provider.name, device=provider.device,
                                size=str(size), x=x, dtype=dtype, mode=mode)
    if bytes is not None:
        benchmark.extra_info["bytes"] = int(bytes)
    if flops is not None:
        benchmark.extra_info["flops"] = int(flops)
    call()  # NOTE: compiles and autotunes: never timed
    if benchmark.disabled:  # --benchmark-disable (CI): pytest-benchmark runs `call` once more, untimed
        return benchmark.pedantic(call, rounds=1)
    t0 = time.perf_counter()
    call()
    once = max(time.perf_counter() - t0, 1e-7)
    calls = max(1, min(int(2e-3 / once), 50)) if pipelined and is_cuda(provider.name) else 1
    if calls > 1:
        def call():  # noqa: F811  NOTE: `calls` launches, one synchronization
            for _ in range(calls - 1):
                fn()
            out = fn()
            sync()
            return out
        benchmark.extra_info["calls"] = calls
    if rounds is None:
        rounds = int(min(max(CASE_S / (once * calls), 3), MAX_ROUNDS))
    return benchmark.pedantic(call, rounds=rounds, warmup_rounds=1, iterations=1)


def pow2_label(n):
    """'2^k' for powers of two, else the number."""
    return f"2^{n.bit_length() - 1}" if n > 0 and n & (n - 1) == 0 else str(n)


def graphed(P, step):
    """Warm `step` up, capture it into a CUDA graph, and return a callable that replays it."""
    for _ in range(3):
        step()  # NOTE: compiles every kernel and creates every .grad and optimizer state before the capture
    P.sync()
    if P.lib == "tritongrad":
        g = tg.cuda.CUDAGraph()
        with tg.cuda.graph(g):
            out = step()
    else:
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                step()
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            out = step()
    keep = (g, out)  # NOTE: the graph and the memory it writes must outlive the replays
    return lambda: keep[0].replay()

"""Per-step overhead on tiny and small problems: where Python dispatch, not arithmetic, rules.

Cases (benchmark group "overhead/<case>/float32/eager"):
- tiny_chain:       `(a * b + c).sum().backward()` on 2x2 tensors (4 ops forward, their backward,
                    accumulation into three leaves);
- rosenbrock_step:  one iteration of examples/rosenbrock.py (forward, backward, SGD update under
                    no_grad, grad.zero_());
- rosenbrock_1000:  the whole 1000-iteration minimisation;
- net_small_step:   one training step of examples/two_layer_net.py network (a): 100x3 -> 32 -> 1, MSE;
- net_large_step:   one training step of network (b): 64x1000 -> 100 -> 10, sum of squares;
- index_gather:     `C[X].sum().backward()`, an embedding lookup (C 27x10, X 32x3 int64);
- embedding:        `F.embedding(X, C).sum().backward()`, the same lookup through nn.functional;
- cat:              `(cat([a, b, c], 1) * w).sum().backward()`, three 16x8 tensors.

Providers (benchlib's names): tritongrad-cpu (NumPy backend), torch-cpu, numpy (the same
computation with its forward and backward written by hand: the floor for a NumPy-backed
framework), and on a real GPU tritongrad-cuda / torch-cuda (synchronized inside the timed call).
A provider that cannot run here skips with benchlib's reason; with TRITONGRAD_BENCH_EMULATED=1 under
emulated CUDA, tritongrad-cuda runs the three small cases only (plumbing, not timing).

    python -m pytest benchmarks/bench_overhead.py --benchmark-enable
    python -m pytest benchmarks/bench_overhead.py --benchmark-enable --benchmark-json=out.json

Timing is pytest-benchmark's own calibration (many short rounds), not benchlib.measure's capped
rounds: these cases take microseconds and need many rounds on a noisy machine. Every provider runs
on one CPU thread (see `one_thread`): this file measures overhead, not multi-core throughput.
extra_info holds benchlib's labels (family "overhead", case, provider, device, size, x, dtype, mode)
plus a description.

Without --benchmark-enable (pyproject's default is --benchmark-disable) each case runs once: a
smoke test.
"""
import math
import os

import numpy as np
import pytest
from benchlib import EMULATED, torch, unavailable

import tritongrad as tg

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # optional: without it NumPy's BLAS keeps its own thread count
    threadpool_limits = None

PROVIDERS = ["tritongrad-cpu", "torch-cpu", "numpy", "tritongrad-cuda", "torch-cuda"]
EMULATED_CASES = ("tiny_chain", "rosenbrock_step", "net_small_step")  # the interpreter: ~1 ms a launch


def _lib(provider):
    """(library, device) of an autograd provider."""
    lib, _, device = provider.partition("-")
    return (tg if lib == "tritongrad" else torch), device


def _sync(lib, device):
    """A callable that waits for the device (nothing to wait for on the CPU)."""
    if device == "cpu":
        return lambda: None
    return lib.cuda.synchronize


def _tensors(lib, device, arrays, requires_grad=False):
    return [lib.tensor(a, device=device, requires_grad=requires_grad) for a in arrays]


# --- tiny chain ----------------------------------------------------------------------------------

def tiny_chain(provider, rng):
    a, b, c = (rng.standard_normal((2, 2)).astype(np.float32) for _ in range(3))
    if provider == "numpy":
        ga, gb, gc = (np.zeros_like(a) for _ in range(3))

        def step():
            s = (a * b + c).sum()
            g = np.ones_like(a)  # d s / d (a * b + c)
            ga[...] += g * b
            gb[...] += g * a
            gc[...] += g
            return s
        return step
    lib, device = _lib(provider)
    ta, tb, tc = _tensors(lib, device, (a, b, c), requires_grad=True)
    sync = _sync(lib, device)

    def step():
        s = (ta * tb + tc).sum()
        s.backward()
        sync()
        return s
    return step


# --- Rosenbrock ----------------------------------------------------------------------------------

LR = 0.01


def _rosenbrock(x):
    return (1 - x[0]) ** 2 + 5 * (x[1] - x[0] ** 2) ** 2


def _numpy_rosenbrock_step(x):
    x0, x1 = x
    f = (1 - x0) ** 2 + 5 * (x1 - x0 ** 2) ** 2
    g = np.array([-2 * (1 - x0) - 20 * x0 * (x1 - x0 ** 2), 10 * (x1 - x0 ** 2)], np.float32)
    x -= LR * g
    return f


def rosenbrock(provider, iterations):
    start = np.array([-1.0, 1.0], np.float32)
    if provider == "numpy":
        def run():
            x = start.copy()
            for _ in range(iterations):
                f = _numpy_rosenbrock_step(x)
            return f
        return run
    lib, device = _lib(provider)
    sync = _sync(lib, device)

    def one(x):
        f = _rosenbrock(x)
        f.backward()
        with lib.no_grad():
            x -= LR * x.grad
        x.grad.zero_()
        return f

    if iterations == 1:
        # NOTE: one long-lived x, as in a real loop; its values drift, the work per step does not.
        x = lib.tensor(start, device=device, requires_grad=True)

        def step():
            f = one(x)
            sync()
            return f
        return step

    def run():
        x = lib.tensor(start, device=device, requires_grad=True)
        for _ in range(iterations):
            f = one(x)
        sync()
        return f
    return run


# --- two-layer networks --------------------------------------------------------------------------

NETS = {"small": dict(n=100, d_in=3, h=32, d_out=1, lr=1e-4, loss="mse"),
        "large": dict(n=64, d_in=1000, h=100, d_out=10, lr=1e-6, loss="sum")}


def net_step(provider, rng, net):
    p = NETS[net]
    x = rng.standard_normal((p["n"], p["d_in"])).astype(np.float32)
    y = rng.standard_normal((p["n"], p["d_out"])).astype(np.float32)
    w1 = rng.standard_normal((p["d_in"], p["h"])).astype(np.float32)
    w2 = rng.standard_normal((p["h"], p["d_out"])).astype(np.float32)
    # NOTE: a learning rate of 0 keeps the weights (and so the work and the numbers) the same in
    # every round, however many rounds the benchmark runs; the update is still done.
    lr, mean = 0.0, p["loss"] == "mse"
    if provider == "numpy":
        def step():
            h = x @ w1
            h_relu = np.maximum(h, 0)
            diff = h_relu @ w2 - y
            loss = (diff ** 2).mean() if mean else (diff ** 2).sum()
            g = 2 * diff / diff.size if mean else 2 * diff
            gw2 = h_relu.T @ g
            gh = g @ w2.T
            gh[h < 0] = 0
            gw1 = x.T @ gh
            w1[...] -= lr * gw1
            w2[...] -= lr * gw2
            return loss
        return step
    lib, device = _lib(provider)
    tx, ty = _tensors(lib, device, (x, y))
    tw1, tw2 = _tensors(lib, device, (w1, w2), requires_grad=True)
    sync = _sync(lib, device)

    def step():
        diff = tx.mm(tw1).clamp(min=0).mm(tw2) - ty
        loss = diff.pow(2).mean() if mean else diff.pow(2).sum()
        loss.backward()
        with lib.no_grad():
            tw1.sub_(lr * tw1.grad)
            tw2.sub_(lr * tw2.grad)
            tw1.grad.zero_()
            tw2.grad.zero_()
        sync()
        return loss
    return step


# --- indexing and joining ------------------------------------------------------------------------

def index_gather(provider, rng):
    """An embedding lookup C[X] (makemore's): forward, sum, backward (a scatter-add into C.grad)."""
    C = rng.standard_normal((27, 10)).astype(np.float32)
    X = rng.integers(0, 27, (32, 3))
    if provider == "numpy":
        gC = np.zeros_like(C)

        def step():
            s = C[X].sum()
            np.add.at(gC, X, np.ones((32, 3, 10), np.float32))
            return s
        return step
    lib, device = _lib(provider)
    (tC,) = _tensors(lib, device, (C,), requires_grad=True)
    (tX,) = _tensors(lib, device, (X,))
    sync = _sync(lib, device)

    def step():
        s = tC[tX].sum()
        s.backward()
        sync()
        return s
    return step


def embedding_step(provider, rng):
    """F.embedding(X, C) (C 27x10, X 32x3 int64): the index_gather lookup through nn.functional, whose
    backward is embedding's own (index_add_ of the rows) rather than advanced indexing's."""
    C = rng.standard_normal((27, 10)).astype(np.float32)
    X = rng.integers(0, 27, (32, 3))
    if provider == "numpy":
        gC = np.zeros_like(C)

        def step():
            s = np.take(C, X, 0).sum()
            np.add.at(gC, X.reshape(-1), np.ones((96, 10), np.float32))
            return s
        return step
    lib, device = _lib(provider)
    (tC,) = _tensors(lib, device, (C,), requires_grad=True)
    (tX,) = _tensors(lib, device, (X,))
    sync = _sync(lib, device)
    embedding = lib.nn.functional.embedding

    def step():
        s = embedding(tX, tC).sum()
        s.backward()
        sync()
        return s
    return step


def cat_step(provider, rng):
    """cat of three 16x8 tensors along dim 1, weighted sum, backward (slices of the gradient)."""
    a, b, c = (rng.standard_normal((16, 8)).astype(np.float32) for _ in range(3))
    w = rng.standard_normal((16, 24)).astype(np.float32)
    if provider == "numpy":
        grads = [np.zeros_like(a) for _ in range(3)]

        def step():
            s = (np.concatenate([a, b, c], 1) * w).sum()
            for k, g in enumerate(grads):
                g += w[:, 8 * k:8 * k + 8]
            return s
        return step
    lib, device = _lib(provider)
    ta, tb, tc = _tensors(lib, device, (a, b, c), requires_grad=True)
    (tw,) = _tensors(lib, device, (w,))
    sync = _sync(lib, device)

    def step():
        s = (lib.cat([ta, tb, tc], 1) * tw).sum()
        s.backward()
        sync()
        return s
    return step


# case -> (size label, x = elements of the largest operand, description, builder(provider, rng))
CASES = {
    "tiny_chain": ("2x2", 4, "(a * b + c).sum().backward(), 2x2 float32", lambda p, rng: tiny_chain(p, rng)),
    "rosenbrock_step": ("2", 2, "one Rosenbrock iteration: f, backward, SGD update, zero_",
                        lambda p, rng: rosenbrock(p, 1)),
    "rosenbrock_1000": ("2", 2, "1000 Rosenbrock iterations from (-1, 1), lr 0.01", lambda p, rng: rosenbrock(p, 1000)),
    "net_small_step": ("100x3-32-1", 300, "training step, 100x3 -> 32 -> 1, relu, MSE: forward, backward, SGD, "
                       "zero grads", lambda p, rng: net_step(p, rng, "small")),
    "net_large_step": ("64x1000-100-10", 100_000, "training step, 64x1000 -> 100 -> 10, relu, sum of squares: "
                       "forward, backward, SGD, zero grads", lambda p, rng: net_step(p, rng, "large")),
    "index_gather": ("27x10[32x3]", 960, "C[X].sum().backward(): embedding lookup, C 27x10, X 32x3 int64",
                     lambda p, rng: index_gather(p, rng)),
    "embedding": ("27x10[32x3]", 960, "F.embedding(X, C).sum().backward(): C 27x10, X 32x3 int64",
                  lambda p, rng: embedding_step(p, rng)),
    "cat": ("3x16x8", 384, "(cat([a, b, c], 1) * w).sum().backward(), 16x8 each", lambda p, rng: cat_step(p, rng)),
}


@pytest.fixture
def one_thread():
    """Every provider on one CPU thread for the duration of a test (PyTorch's intra-op pool, and
    the BLAS behind NumPy when threadpoolctl is installed); yields the BLAS thread limit applied.

    NOTE: these cases measure per-op overhead. Thread pools add to it on tensors this small, and
    on a shared or loaded machine their spinning threads contend for cores: measured on a loaded
    2-core machine, NumPy's 64x1000 @ 1000x100 took 70-100 ms with OpenBLAS's 2 threads against
    0.3 ms with 1, and PyTorch's small-net step 36 ms with 2 threads against 0.2 ms with 1.
    """
    before = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    try:
        if threadpool_limits is None:
            yield "default (threadpoolctl not installed)"
        else:
            with threadpool_limits(limits=1, user_api="blas"):
                yield 1
    finally:
        if torch is not None:
            torch.set_num_threads(before)


def _params():
    out = []
    for case in CASES:
        for provider in PROVIDERS:
            why = unavailable(provider)
            if not why and EMULATED and provider == "tritongrad-cuda" and case not in EMULATED_CASES:
                why = "too slow under emulated CUDA (Triton's interpreter); the small cases prove the plumbing"
            out.append(pytest.param(case, provider, marks=[pytest.mark.skip(reason=why)] if why else []))
    return out


@pytest.mark.parametrize("case, provider", _params())
def test_overhead(benchmark, one_thread, case, provider):
    size, x, description, build = CASES[case]
    step = build(provider, np.random.default_rng(0))
    step()  # NOTE: the first call compiles kernels (CUDA) and warms caches: never timed
    benchmark.group = f"overhead/{case}/float32/eager"
    benchmark.extra_info.update(family="overhead", case=case, provider=provider,
                                device="cuda" if provider.endswith("-cuda") else "cpu", size=size, x=x,
                                dtype="float32", mode="eager", description=description,
                                torch_threads=torch.get_num_threads() if torch is not None else None,
                                blas_threads=one_thread, cpu_count=os.cpu_count())
    out = benchmark(step)
    assert math.isfinite(out.item())

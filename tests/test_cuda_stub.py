"""Stubbed CUDA (TRITONGRAD_STUB_CUDA=1): the GPU code path without a GPU, and what it shows about
a training step: no host synchronization, no driver allocation once warm, launches through
Triton's real C launcher; the caching allocator's statistics stay exact.

Stub mode is chosen at import, so each check runs in a fresh interpreter (kernels compile for
sm_90 the first time, then come from Triton's cache).
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tritongrad.cuda import memory

ROOT = Path(__file__).resolve().parents[1]


def run_stubbed(code):
    """Run `code` in a fresh interpreter with stubbed CUDA; returns its last line parsed as JSON."""
    env = {k: v for k, v in os.environ.items() if k not in ("TRITONGRAD_EMULATE_CUDA", "TRITON_INTERPRET")}
    env["TRITONGRAD_STUB_CUDA"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


SYNCS = ("cuStreamSynchronize", "cuCtxSynchronize", "cuEventSynchronize", "cuMemcpyDtoHAsync", "cuMemcpyHtoDAsync")


@pytest.fixture(scope="module")
def training_counts():
    """Driver calls of three training steps after three warm-up steps: a two-layer net with SGD
    written out, then nn modules with tg.optim.SGD (momentum) and tg.optim.Adam."""
    return run_stubbed("""
        import json
        import numpy as np
        import tritongrad as tg
        from tritongrad.cuda import stub
        assert tg.cuda.is_stubbed() and not tg.cuda.is_emulated()
        rng = np.random.default_rng(0)
        x, y = (tg.tensor(rng.standard_normal(s).astype(np.float32), device="cuda") for s in ((64, 97), (64, 10)))
        w1 = tg.tensor(rng.standard_normal((97, 33)).astype(np.float32), device="cuda", requires_grad=True)
        w2 = tg.tensor(rng.standard_normal((33, 10)).astype(np.float32), device="cuda", requires_grad=True)

        def step():
            loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).mean()
            loss.backward()
            with tg.no_grad():
                for w in (w1, w2):
                    w.sub_(1e-3 * w.grad)
                    w.grad.zero_()
            return loss

        for _ in range(3):  # NOTE: the first steps create the .grads and fill the allocator's cache
            loss = step()
        before = stub.counts()
        for _ in range(3):
            loss = step()
        steps = stub.counts() - before
        before = stub.counts()
        loss.item()
        item = stub.counts() - before

        # the same with modules, a loss module and optimizers
        model = tg.nn.Sequential(tg.nn.Linear(97, 33), tg.nn.ReLU(), tg.nn.Linear(33, 10)).cuda()
        optimized = {}
        for name, opt in (("sgd", tg.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)),
                          ("adam", tg.optim.Adam(model.parameters(), lr=1e-3))):
            def nn_step():
                opt.zero_grad()
                loss = tg.nn.functional.mse_loss(model(x), y)
                loss.backward()
                opt.step()
                return loss
            for _ in range(3):
                loss = nn_step()
            before = stub.counts()
            for _ in range(3):
                loss = nn_step()
            optimized[name] = dict(stub.counts() - before)
        print(json.dumps({"steps": dict(steps), "item": dict(item), "name": tg.cuda.get_device_name(),
                          "optimized": optimized}))
    """)


@pytest.mark.parametrize("which", ["manual", "sgd", "adam"])
def test_training_step_never_synchronizes(training_counts, which):
    steps = training_counts["steps"] if which == "manual" else training_counts["optimized"][which]
    assert steps.get("launch", 0) >= 3 * 12  # NOTE: the kernels reached Triton's C launcher
    assert {k: steps[k] for k in SYNCS if steps.get(k)} == {}


@pytest.mark.parametrize("which", ["manual", "sgd", "adam"])
def test_training_step_allocates_from_the_cache(training_counts, which):
    steps = training_counts["steps"] if which == "manual" else training_counts["optimized"][which]
    assert steps.get("cuMemAllocAsync", 0) == 0
    assert steps.get("cuMemFreeAsync", 0) == 0


def test_item_synchronizes_and_is_counted(training_counts):
    # the counter sees what a sync-free step lacks: reading a value waits for the device
    assert training_counts["item"].get("cuMemcpyDtoHAsync") == 1
    assert "stub" in training_counts["name"]


def test_caching_allocator_statistics_are_exact():
    got = run_stubbed("""
        import json
        import tritongrad as tg
        from tritongrad.cuda import memory, stub
        c = tg.cuda
        base = c.memory_allocated()
        a = tg.empty(1000, device="cuda")             # 4000 bytes asked, a 4096-byte block
        b = tg.empty(3, 97, device="cuda")            # 1164 bytes, a 1536-byte block
        after = c.memory_allocated() - base
        peak = c.max_memory_allocated() - base
        del a
        freed = c.memory_allocated() - base
        allocs = stub.counts()["cuMemAllocAsync"]
        a2 = tg.empty(1010, device="cuda")            # same class: the cached block, no driver call
        reused = stub.counts()["cuMemAllocAsync"] - allocs
        del a2, b
        cached = memory._cached
        reserved = c.memory_reserved()
        frees = stub.counts()["cuMemFreeAsync"]
        c.empty_cache()
        print(json.dumps(dict(after=after, peak=peak, freed=freed, reused=reused, cached=cached,
                              reserved=reserved, returned=stub.counts()["cuMemFreeAsync"] - frees,
                              cached_after=memory._cached, reserved_after=c.memory_reserved(),
                              left=c.memory_allocated() - base)))
    """)
    assert got["after"] == 4000 + 1164 and got["peak"] == 4000 + 1164
    assert got["freed"] == 1164
    assert got["reused"] == 0
    assert got["cached"] == 4096 + 1536
    assert got["reserved"] >= got["cached"]
    assert got["returned"] >= 2 and got["cached_after"] == 0
    assert got["left"] == 0 and got["reserved_after"] == got["reserved"] - got["cached"]


@pytest.mark.parametrize("n, size", [(1, 512), (512, 512), (513, 1024), (1 << 20, 1 << 20),
                                     ((1 << 20) + 1, (1 << 20) + (1 << 17)), (3 << 22, 3 << 22),
                                     ((1 << 30) + 5, (1 << 30) + (1 << 27))])
def test_size_classes(n, size):
    assert memory._size_class(n) == size
    assert memory._size_class(n) - n <= max(511, n // 8)


def test_refuses_a_process_with_a_real_driver_loaded(training_counts, tmp_path):
    """A libcuda loaded before the stub (here: a copy of the stub's own, standing for NVIDIA's)
    would take Triton's launches: stubbed CUDA refuses to start, saying why."""
    got = run_stubbed(f"""
        import ctypes, glob, json, os, shutil
        cache = os.environ.get("TRITONGRAD_CACHE_DIR") or os.path.expanduser("~/.cache/tritongrad")
        built = sorted(glob.glob(os.path.join(cache, "stub-libcuda-*", "libcuda.so.1")))[-1]
        fake = shutil.copy(built, {str(tmp_path)!r} + "/libcuda.so.1")
        ctypes.CDLL(fake, mode=ctypes.RTLD_GLOBAL)
        import tritongrad as tg
        try:
            tg.empty(3, device="cuda")
            print(json.dumps(dict(error=None)))
        except RuntimeError as e:
            print(json.dumps(dict(error=str(e))))
    """)
    assert got["error"] and "has not loaded NVIDIA's driver library" in got["error"]

"""tritongrad.cuda, the device runtime: memory and copies, statistics, out of memory, streams,
events, graphs, Triton's driver, availability and import hygiene.

In-process tests are marked `cuda`: they need CUDA, emulated (TRITONGRAD_EMULATE_CUDA=1, the CUDA
tier) or real, and skip otherwise; a few need one of the two. Tests that need a process of their own
(no emulation, torch or cuda-bindings blocked, a memory cap) run a subprocess, in every tier.
"""
import functools
import gc
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import tritongrad.cuda as tcuda
from tritongrad import _dtype as D
from tritongrad.cuda import memory
from tritongrad.cuda.array import contiguous_strides

ROOT = Path(__file__).resolve().parents[1]
EMULATED = tcuda.is_emulated()


def _marks(*marks):
    def apply(fn):
        for mark in marks:
            fn = mark(fn)
        return fn

    return apply


needs_cuda = _marks(pytest.mark.cuda, pytest.mark.skipif(not tcuda.is_available(),
                                                          reason="needs a GPU or TRITONGRAD_EMULATE_CUDA=1"))
emulated_only = _marks(pytest.mark.cuda, pytest.mark.skipif(not EMULATED, reason="needs TRITONGRAD_EMULATE_CUDA=1"))
real_gpu_only = _marks(pytest.mark.cuda, pytest.mark.skipif(EMULATED or not tcuda.is_available(),
                                                            reason="needs a real GPU"))

SHAPES = [(), (0,), (1,), (97,), (33, 65), (3, 1, 17), (2, 0, 3)]


def random_host(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if dtype is D.bool_:
        return rng.random(shape) < 0.5
    if dtype is D.bfloat16:  # bit patterns of float32s' top halves
        return (rng.standard_normal(shape, dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16)
    if dtype.is_floating_point:
        return rng.standard_normal(shape).astype(dtype.np)
    info = np.iinfo(dtype.np)
    return rng.integers(info.min, info.max, shape, dtype=dtype.np, endpoint=True)


def run_script(code, emulate, env=None, block_torch=False):
    """Run `code` in a fresh interpreter (torch made unimportable if asked, its import attempts in
    ATTEMPTS); returns its last line of output, parsed as JSON."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("TRITONGRAD_EMULATE_CUDA", "TRITON_INTERPRET")}
    full_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), full_env.get("PYTHONPATH", "")])
    if emulate:
        full_env["TRITONGRAD_EMULATE_CUDA"] = "1"
    full_env.update(env or {})
    with tempfile.TemporaryDirectory() as tmp:  # NOTE: a file, as @triton.jit reads its source
        script = Path(tmp, "script.py")
        script.write_text((BLOCK_TORCH if block_torch else "") + textwrap.dedent(code))
        proc = subprocess.run([sys.executable, str(script)], env=full_env, cwd=ROOT, capture_output=True, text=True,
                              timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


BLOCK_TORCH = """
import importlib.abc, sys
ATTEMPTS = []
class _NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "torch":
            ATTEMPTS.append(name)
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)")
sys.meta_path.insert(0, _NoTorch())
"""

triton = tl = None  # NOTE: imported by kernels(), after tritongrad.cuda chose interpreter or GPU


@functools.cache
def kernels():
    global triton, tl
    import triton
    import triton.language as tl

    @triton.jit
    def axpy_kernel(x_ptr, y_ptr, out_ptr, a, n, BLOCK: tl.constexpr):
        """out[i] = a * x[i] + y[i] for i < n; contiguous."""
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        mask = offs < n
        x = tl.load(x_ptr + offs, mask=mask)
        tl.store(out_ptr + offs, a * x + tl.load(y_ptr + offs, mask=mask), mask=mask)

    return axpy_kernel


def axpy(x, y, out, a):
    kernels()[(triton.cdiv(x.size_, 128),)](x, y, out, a, x.size_, BLOCK=128)


# --- memory: round trips, layouts, views ------------------------------------------------------------
@needs_cuda
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", D.ALL, ids=lambda d: d.name)
def test_round_trip(dtype, shape):
    host = random_host(shape, dtype)
    a = memory.from_host(host, dtype)
    assert (a.shape, a.strides, a.offset, a.dtype) == (shape, contiguous_strides(shape), 0, dtype)
    assert a.buf.nbytes == host.nbytes
    back = memory.to_host(a)
    assert back.dtype == dtype.np and back.shape == shape and back.flags.c_contiguous
    np.testing.assert_array_equal(back, host)
    if EMULATED:  # a new host array, never a view of the (host) device memory
        assert a.buf._host is None or not np.shares_memory(back, a.buf._host)


@needs_cuda
@pytest.mark.parametrize("make", [lambda x: x.T, lambda x: x[::2, ::-3], lambda x: x[5:, 7],
                                  lambda x: np.broadcast_to(x[:1], (4, 13)), lambda x: np.asfortranarray(x)],
                         ids=["transposed", "steps", "offset", "broadcast", "fortran"])
def test_from_host_any_layout(make):
    src = make(random_host((11, 13), D.float32))
    np.testing.assert_array_equal(memory.to_host(memory.from_host(src, D.float32)), src)


@needs_cuda
@pytest.mark.parametrize("view", [
    lambda a: a.permute((2, 0, 1)),
    lambda a: a.index((slice(1, None, 2), 3, slice(None, None, -2))),
    lambda a: a.index((Ellipsis, 4)),
    lambda a: a.index((2, slice(1, 4))).expand((5, 3, 7)),
    lambda a: a.index(1).view((35,)),
    lambda a: a.index((slice(None), slice(None), slice(6, 7))).permute((2, 1, 0)),
], ids=["permute", "steps-negative", "index", "expand", "reshape", "offset-permute"])
@pytest.mark.parametrize("dtype", [D.float32, D.float16, D.bfloat16, D.int64, D.bool_], ids=lambda d: d.name)
def test_to_host_honors_views(view, dtype):
    host = random_host((3, 5, 7), dtype)
    a = view(memory.from_host(host, dtype))
    expect = view(_NumpyView(host)).x
    np.testing.assert_array_equal(memory.to_host(a), expect)
    assert memory.to_host(a).flags.c_contiguous


class _NumpyView:
    """The same view methods as DeviceArray, on a NumPy array: the reference for views."""

    def __init__(self, x):
        self.x = x

    def permute(self, dims):
        return _NumpyView(self.x.transpose(dims))

    def index(self, idx):
        return _NumpyView(self.x[idx])

    def expand(self, shape):
        return _NumpyView(np.broadcast_to(self.x, shape))

    def view(self, shape):
        return _NumpyView(self.x.reshape(shape))


@needs_cuda
def test_copy_host_to_device_into_a_slice():
    base = memory.from_host(np.arange(20, dtype=np.int32), D.int32)
    dst = base.index(slice(5, 11)).view((2, 3))
    memory.copy_host_to_device_(dst, np.full((3, 2), -1, np.int32).T)  # any host layout, same size
    expect = np.arange(20, dtype=np.int32)
    expect[5:11] = -1
    np.testing.assert_array_equal(memory.to_host(base), expect)


@needs_cuda
def test_copy_host_to_device_checks():
    a = memory.empty((4, 6), D.float32)
    with pytest.raises(ValueError, match="contiguous destination"):
        memory.copy_host_to_device_(a.permute((1, 0)), np.zeros((6, 4), np.float32))
    with pytest.raises(ValueError, match="cannot copy 5 elements"):
        memory.copy_host_to_device_(a, np.zeros(5, np.float32))
    with pytest.raises(TypeError, match="float32"):
        memory.copy_host_to_device_(a, np.zeros((4, 6), np.float64))


@needs_cuda
def test_empty():
    a = memory.empty((3, 0, 5), D.float16)
    assert (a.shape, a.strides, a.buf.nbytes, memory.to_host(a).shape) == ((3, 0, 5), (5, 5, 1), 0, (3, 0, 5))
    b = memory.empty((33, 65), D.float64)
    assert b.buf.nbytes == 33 * 65 * 8 and b.data_ptr() == b.buf.data_ptr() != 0
    assert b.index((1, 2)).data_ptr() == b.data_ptr() + (65 + 2) * 8


# --- statistics and out of memory -------------------------------------------------------------------
@needs_cuda
def test_memory_stats_follow_storages():
    gc.collect()  # so that no collection frees storages of earlier tests while we count
    base = tcuda.memory_allocated()
    tcuda.reset_peak_memory_stats()
    assert tcuda.max_memory_allocated() == base
    a = memory.empty((1000,), D.float32)
    b = memory.empty((10, 10), D.int8)
    assert tcuda.memory_allocated() == base + 4000 + 100
    view = a.index(slice(10, 20))  # views hold the storage, they allocate nothing
    del a
    assert tcuda.memory_allocated() == base + 4100
    del view
    assert tcuda.memory_allocated() == base + 100
    assert tcuda.max_memory_allocated() == base + 4100
    del b
    assert tcuda.memory_allocated() == base and tcuda.max_memory_allocated() == base + 4100
    tcuda.reset_peak_memory_stats()
    assert tcuda.max_memory_allocated() == base
    assert tcuda.memory_reserved() >= tcuda.memory_allocated()
    tcuda.empty_cache()


def test_format_size_as_pytorch():
    sizes = [0, 512, 1024, 1536, 2**20, 2**20 + 1, 3 * 2**30 // 2, 2**31, 2**40]
    assert [memory._format_size(n) for n in sizes] == [
        "0 bytes", "512 bytes", "1024 bytes", "1.50 KiB", "1024.00 KiB", "1.00 MiB", "1.50 GiB", "2.00 GiB",
        "1024.00 GiB"]


@pytest.fixture
def memory_cap():
    """Emulated memory capped at what is allocated now plus 1 MiB."""
    memory.set_emulated_limit(tcuda.memory_allocated() + 2**20)
    yield
    memory.set_emulated_limit(None)


@emulated_only
def test_out_of_memory(memory_cap):
    keep = memory.empty((2**18,), D.float32)  # 1 MiB: the cap is reached
    allocated, peak = tcuda.memory_allocated(), tcuda.max_memory_allocated()
    with pytest.raises(tcuda.OutOfMemoryError) as info:
        memory.empty((2**29,), D.float32)
    assert str(info.value).startswith("CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 (emulated) has a "
                                      "total capacity of ")
    assert "of which 0 bytes is free. Of the allocated memory " in str(info.value)
    assert "is allocated by tritongrad, and 0 bytes is reserved by tritongrad but unallocated." in str(info.value)
    assert isinstance(info.value, RuntimeError) and tcuda.OutOfMemoryError is memory.OutOfMemoryError
    assert (tcuda.memory_allocated(), tcuda.max_memory_allocated()) == (allocated, peak)  # nothing changed
    del keep
    memory.empty((2**18,), D.float32)  # fits again


@emulated_only
def test_out_of_memory_empties_the_cache_and_retries(memory_cap, monkeypatch):
    cached = [memory.empty((2**18,), D.float32)]
    calls = []

    def empty_cache():  # stands for the pool returning cached memory: here, memory we let go
        calls.append(1)
        cached.clear()

    monkeypatch.setattr(memory, "empty_cache", empty_cache)
    a = memory.empty((2**17,), D.float32)
    assert calls == [1] and a.buf.nbytes == 2**19
    with pytest.raises(tcuda.OutOfMemoryError):
        memory.empty((2**20,), D.float32)
    assert calls == [1, 1, 1]  # NOTE: the pool is emptied again after the failed retry (what it mapped)


def test_emulated_memory_limit_from_environment():
    out = run_script("""
        import json, tritongrad.cuda as tcuda
        from tritongrad import _dtype as D
        from tritongrad.cuda import memory
        try:
            memory.empty((8192,), D.uint8)
        except tcuda.OutOfMemoryError as e:
            print(json.dumps(str(e)))
    """, emulate=True, env={"TRITONGRAD_EMULATE_MEMORY_LIMIT": "4096"})
    assert out.startswith("CUDA out of memory. Tried to allocate 8.00 KiB. GPU 0 (emulated) has a total capacity "
                          "of 4.00 KiB of which 4.00 KiB is free.")


# --- streams and events -----------------------------------------------------------------------------
@needs_cuda
def test_current_stream_and_stream_context():
    default = tcuda.current_stream()
    assert default == tcuda.default_stream() and isinstance(default.handle, int)
    assert default.cuda_stream == default.handle and f"cuda_stream={default.handle:#x}" in repr(default)
    side, other = tcuda.Stream(), tcuda.Stream(priority=-1)
    assert len({default, side, other}) == 3
    seen = []
    with tcuda.stream(side) as entered:
        assert entered is side and tcuda.current_stream() is side
        with tcuda.stream(other):
            assert tcuda.current_stream() is other
            with tcuda.stream(None):
                assert tcuda.current_stream() is other
        assert tcuda.current_stream() is side
        thread = threading.Thread(target=lambda: seen.append(tcuda.current_stream()))  # per thread
        thread.start()
        thread.join()
    assert tcuda.current_stream() is default and seen == [default]


@needs_cuda
def test_work_on_a_side_stream():
    x = memory.from_host(np.arange(1000, dtype=np.float32), D.float32)
    out = memory.empty((1000,), D.float32)
    side = tcuda.Stream()
    side.wait_stream(tcuda.current_stream())  # x was written on the current stream
    with tcuda.stream(side):
        axpy(x, x, out, 2.0)
    done = side.record_event()
    tcuda.current_stream().wait_event(done)
    np.testing.assert_array_equal(memory.to_host(out), 3 * np.arange(1000, dtype=np.float32))
    side.synchronize()
    assert side.query() and done.query()


@needs_cuda
def test_events():
    start, end = tcuda.Event(enable_timing=True), tcuda.Event(enable_timing=True)
    assert start.query() and "uninitialized" in repr(start)
    start.synchronize()  # never recorded: nothing to wait for
    with pytest.raises(RuntimeError, match="Both events must be recorded before calculating elapsed time."):
        start.elapsed_time(end)
    x = memory.from_host(np.ones(4096, np.float32), D.float32)
    start.record()
    axpy(x, x, x, 1.0)
    end.record(tcuda.current_stream())
    end.synchronize()
    assert end.query() and start.elapsed_time(end) >= 0.0
    plain = tcuda.Event()
    plain.record()
    plain.wait()
    tcuda.current_stream().wait_event(plain)
    with pytest.raises(RuntimeError, match=r"Both events must be created with argument 'enable_timing=True'\."):
        start.elapsed_time(plain)


@needs_cuda
def test_device_queries():
    tcuda._lazy_init()
    tcuda._lazy_init()  # idempotent
    assert tcuda.is_initialized() and tcuda.is_available()
    assert tcuda.device_count() == 1 and tcuda.current_device() == 0
    assert isinstance(tcuda.get_device_name(), str) and tcuda.get_device_name(0) == tcuda.get_device_name("cuda:0")
    tcuda.synchronize()
    tcuda.synchronize("cuda")
    with pytest.raises(ValueError, match="one GPU"):
        tcuda.synchronize("cuda:1")
    with pytest.raises(ValueError, match="Expected a cuda device"):
        tcuda.current_stream("cpu")


# --- Triton's driver --------------------------------------------------------------------------------
@needs_cuda
def test_kernels_launch_on_views():
    host = random_host((40,), D.float32)
    x = memory.from_host(host, D.float32)
    y = memory.from_host(np.arange(20, dtype=np.float32), D.float32)
    axpy(x.index(slice(0, 20)), y, x.index(slice(20, 40)), 0.5)  # views at offsets into one storage
    expect = host.copy()
    expect[20:40] = 0.5 * host[:20] + np.arange(20, dtype=np.float32)
    np.testing.assert_allclose(memory.to_host(x), expect, rtol=1e-6)
    assert tcuda.current_stream().handle == triton.runtime.driver.active.get_current_stream()


@emulated_only
def test_emulated_driver_serves_benchmarks_and_autotune():
    kernels()
    assert os.environ["TRITON_INTERPRET"] == "1"
    assert type(triton.runtime.driver.active).__name__ == "InterpreterDriver"
    x = memory.from_host(np.ones(300, np.float32), D.float32)
    out = memory.empty((300,), D.float32)
    assert triton.testing.do_bench(lambda: axpy(x, x, out, 1.0), warmup=1, rep=1) > 0

    @triton.autotune(configs=[triton.Config({"BLOCK": 64}), triton.Config({"BLOCK": 256})], key=["n"])
    @triton.jit
    def twice_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        tl.store(out_ptr + offs, 2 * tl.load(x_ptr + offs, mask=offs < n), mask=offs < n)

    twice_kernel[lambda meta: (triton.cdiv(300, meta["BLOCK"]),)](x, out, 300)
    assert twice_kernel.best_config.kwargs["BLOCK"] in (64, 256)
    np.testing.assert_array_equal(memory.to_host(out), np.full(300, 2, np.float32))


def test_gpu_driver_launches_on_our_stream_without_torch():
    """The real-GPU driver, on this machine: Triton binds and compiles (sm_90) as on a GPU, with the
    CUDA driver below it replaced by a recorder of loads and launches."""
    out = run_script("""
        import json, types
        import tritongrad.cuda as tcuda
        from tritongrad.cuda import _runtime as rt, driver, streams
        from tritongrad.cuda.array import DeviceArray
        from tritongrad import _dtype as D

        attrs = types.SimpleNamespace(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR=9,
                                      CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR=0)
        rt.cu = types.SimpleNamespace(CUdevice_attribute=attrs, cuDeviceGetAttribute=lambda a, dev: (0, a))
        rt.cu_device, rt.initialized, rt.tls.stream = 0, True, None

        def make_stream(handle):
            s = streams.Stream.__new__(streams.Stream)
            s.handle = handle
            return s

        rt.default_stream, launches = make_stream(0x5000), []

        class Utils:
            def get_device_properties(self, device):
                return {"max_shared_mem": 232448, "multiprocessor_count": 132, "max_num_regs": 65536,
                        "warpSize": 32, "sm_clock_rate": 1, "mem_clock_rate": 1, "mem_bus_width": 1}

            def load_binary(self, name, kernel, shared, device):
                return 1, 2, 32, 0, 1024

        class Launcher:
            def __init__(self, src, metadata):
                pass

            def __call__(self, gx, gy, gz, stream, function, *args):
                launches.append([gx, gy, gz, stream])

        driver.CudaUtils, driver.CudaLauncher = Utils, Launcher
        driver.install()
        import triton, triton.language as tl

        @triton.jit
        def fill_kernel(x_ptr, n, BLOCK: tl.constexpr):
            offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
            tl.store(x_ptr + offs, 1.0, mask=offs < n)

        class Buf:
            def data_ptr(self):
                return 0x7F0000000000

        x = DeviceArray(Buf(), 0, (100,), (1,), D.float32)
        fill_kernel[(4,)](x, 100, BLOCK=32)
        with tcuda.stream(make_stream(0x6000)):
            fill_kernel[(2, 3)](x, 100, BLOCK=32)
        fill_kernel[(3,)](x, 100, BLOCK=32)
        active = triton.runtime.driver.active
        target = active.get_current_target()
        print(json.dumps({"launches": launches, "target": [target.backend, target.arch],
                          "torch": "torch" in sys.modules, "interface": active.get_device_interface().__name__,
                          "benchmarker": active.get_benchmarker().__module__}))
    """, emulate=False, block_torch=True)
    assert out["launches"] == [[4, 1, 1, 0x5000], [2, 3, 1, 0x6000], [3, 1, 1, 0x5000]]
    assert out["target"] == ["cuda", 90] and not out["torch"]
    assert out["interface"] == "tritongrad.cuda" and out["benchmarker"] == "triton.testing"


# --- graphs -----------------------------------------------------------------------------------------
@emulated_only
def test_graphs_need_a_real_gpu():
    g = tcuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="^CUDA graphs need a real GPU; emulated CUDA cannot capture$"):
        g.capture_begin()
    with pytest.raises(RuntimeError, match="^CUDA graphs need a real GPU; emulated CUDA cannot capture$"):
        with tcuda.graph(g):
            pass
    with pytest.raises(RuntimeError, match="without a preceding successful capture"):
        g.replay()
    assert not tcuda.is_current_stream_capturing() and memory._capture is None


@real_gpu_only
def test_graph_capture_allocates_and_replays():
    host = np.arange(1000, dtype=np.float32)
    x = memory.from_host(host, D.float32)
    y = memory.from_host(np.ones(1000, np.float32), D.float32)

    def step():
        tmp = memory.empty((1000,), D.float32)
        axpy(x, y, tmp, 2.0)  # tmp = 2x + 1
        out = memory.empty((1000,), D.float32)
        axpy(tmp, y, out, 1.0)  # out = 2x + 2
        del tmp
        ones = memory.empty((1000,), D.float32)  # takes tmp's block
        axpy(out, y, ones, 0.0)
        axpy(ones, x, x, 1.0)  # x += 1, in place
        return out

    step()  # warm up: compile and load every kernel before capturing
    tcuda.synchronize()
    x = memory.from_host(host, D.float32)
    g = tcuda.CUDAGraph()
    with tcuda.graph(g):
        assert tcuda.is_current_stream_capturing()
        out = step()
        with pytest.raises(RuntimeError, match="while capturing"):
            memory.to_host(out)
    assert not tcuda.is_current_stream_capturing()
    np.testing.assert_array_equal(memory.to_host(x), host)  # captured, not run
    for k in range(3):
        g.replay()
        np.testing.assert_array_equal(memory.to_host(out), 2 * (host + k) + 2)
    np.testing.assert_array_equal(memory.to_host(x), host + 3)
    assert len(g.pool().blocks) == 2  # tmp and out; `ones` reused tmp's
    g.reset()
    with pytest.raises(RuntimeError, match="without a preceding successful capture"):
        g.replay()
    np.testing.assert_array_equal(memory.to_host(out), 2 * (host + 2) + 2)  # out's memory outlives the graph


@real_gpu_only
@pytest.mark.exclusive  # NOTE: while the failing request maps memory, other processes' allocations fail
def test_real_out_of_memory_and_limits():
    allocated = tcuda.memory_allocated()
    free, total = tcuda._runtime.check(tcuda._runtime.cu.cuMemGetInfo())
    too_much = 2 * total
    with pytest.raises(tcuda.OutOfMemoryError) as info:
        memory.empty((too_much,), D.uint8)
    # the failed request leaves the device's memory to the other processes (the pool is trimmed)
    assert tcuda._runtime.check(tcuda._runtime.cu.cuMemGetInfo())[0] > free // 2
    assert str(info.value).startswith(f"CUDA out of memory. Tried to allocate {memory._format_size(too_much)}. "
                                      "GPU 0 has a total capacity of ")
    assert tcuda.memory_allocated() == allocated
    with pytest.raises(RuntimeError, match="emulated CUDA only"):
        memory.set_emulated_limit(1)


# --- availability and imports, in fresh processes --------------------------------------------------
def test_import_is_cheap():
    for emulate in (False, True):
        out = run_script("""
            import json, sys
            import tritongrad.cuda
            print(json.dumps(sorted(m for m in ("triton", "cuda", "cuda.bindings", "torch") if m in sys.modules)))
        """, emulate)
        assert out == []


def test_without_gpu_or_emulation():
    out = run_script("""
        import json
        import tritongrad.cuda as tcuda
        result = {"available": tcuda.is_available(), "emulated": tcuda.is_emulated()}
        try:
            tcuda._lazy_init()
        except RuntimeError as e:
            result["error"] = str(e)
        print(json.dumps(result))
    """, emulate=False)
    assert out["emulated"] is False
    if out["available"]:  # a machine with a GPU
        assert "error" not in out
    else:
        assert out["error"].startswith(("Found no NVIDIA driver on your system.", "No CUDA GPUs are available",
                                        "tritongrad's CUDA backend needs NVIDIA's cuda-bindings"))
        assert out["error"].endswith("or set TRITONGRAD_EMULATE_CUDA=1 to run CUDA code on the CPU through "
                                     "Triton's interpreter")


def test_without_cuda_bindings():
    out = run_script("""
        import importlib.abc, json, sys
        class _NoCuda(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] == "cuda":
                    raise ModuleNotFoundError(f"No module named {name!r} (blocked)")
        sys.meta_path.insert(0, _NoCuda())
        import tritongrad.cuda as tcuda
        result = {"available": tcuda.is_available(), "count": tcuda.device_count()}
        try:
            tcuda.current_stream()
        except RuntimeError as e:
            result["error"] = str(e)
        print(json.dumps(result))
    """, emulate=False)
    assert out["available"] is False and out["count"] == 0
    assert out["error"].startswith("tritongrad's CUDA backend needs NVIDIA's cuda-bindings: pip install "
                                   "'tritongrad[cu13]' (NVIDIA driver >= 580) or 'tritongrad[cu12]'")


def test_emulated_cuda_never_imports_torch():
    out = run_script("""
        import json
        import numpy as np
        import tritongrad.cuda as tcuda
        from tritongrad import _dtype as D
        from tritongrad.cuda import memory
        tcuda._lazy_init()
        import triton, triton.language as tl

        @triton.jit
        def twice_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
            offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
            tl.store(out_ptr + offs, 2 * tl.load(x_ptr + offs, mask=offs < n), mask=offs < n)

        x = memory.from_host(np.arange(50, dtype=np.float16), D.float16)
        out = memory.empty((50,), D.float16)
        start, end = tcuda.Event(enable_timing=True), tcuda.Event(enable_timing=True)
        start.record()
        twice_kernel[(2,)](x, out, 50, BLOCK=32)
        end.record()
        end.synchronize()
        ok = bool((memory.to_host(out) == 2 * np.arange(50, dtype=np.float16)).all())
        ms = triton.testing.do_bench(lambda: twice_kernel[(2,)](x, out, 50, BLOCK=32), warmup=1, rep=1)
        print(json.dumps({"ok": ok, "ms": start.elapsed_time(end), "bench": ms, "attempts": ATTEMPTS,
                          "torch": "torch" in sys.modules, "triton": triton.__version__}))
    """, emulate=True, block_torch=True)
    assert out["ok"] and out["ms"] >= 0 and out["bench"] > 0 and not out["torch"]
    if tuple(int(v) for v in out["triton"].split(".")[:2]) >= (3, 8):  # 3.6/3.7 try once, harmlessly
        assert out["attempts"] == []

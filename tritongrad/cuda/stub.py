"""Stubbed CUDA (TRITONGRAD_STUB_CUDA=1): the whole GPU code path on a machine without a GPU, for
measuring and profiling its host cost (benchmarks/bench_host.py, scripts/host_profile.py).

What runs for real: tensor creation, op recording, the engine, our allocator's Python, Triton's
compiler (kernels are compiled for an H100, sm_90, with the bundled ptxas, and cached), our fast
launch path and Triton's own C launcher (triton/backends/nvidia/driver.c: argument extraction,
pointer checks, the launch configuration). So a stubbed op takes the very Python and C path a GPU
run takes.

What is left out (so never read a stubbed time as a GPU figure):
- the driver's own work inside each call: above all cuLaunchKernelEx, a few microseconds per launch
  on an H100, and the stream-ordered pool's cuMemAllocAsync / cuMemFreeAsync (our caching
  allocator makes these rare in a training loop);
- the cost of calling cuda-bindings (a Cython call, a fraction of a microsecond each): the Python
  functions of `driver` below stand in for `cuda.bindings.driver`;
- every byte of device memory and every kernel's work: nothing is computed; copies to the host
  read zeros.

Two stubs: `driver`, for tritongrad's runtime (what cuda.bindings.driver would be), and a
stand-in libcuda.so.1 (_stub_libcuda.c, built here with the C compiler Triton uses anyway) under
Triton's launcher. Both count what they are asked (`counts()`), which is how tests check that a
training step neither synchronizes nor allocates from the driver.
"""
import collections
import ctypes
import enum
import hashlib
import os
import subprocess
import types

_SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_stub_libcuda.c")
_GiB = 2**30
_TOTAL = 80 * _GiB  # an H100's memory

calls = collections.Counter()  # driver calls that matter for overhead: synchronizations, allocations
_lib = None  # the loaded stand-in libcuda.so.1


class CUresult(enum.IntEnum):
    CUDA_SUCCESS = 0
    CUDA_ERROR_OUT_OF_MEMORY = 2
    CUDA_ERROR_NO_DEVICE = 100
    CUDA_ERROR_NOT_READY = 600


def _enum(*names):
    return types.SimpleNamespace(**{n: i for i, n in enumerate(names)})


_OK = (CUresult.CUDA_SUCCESS,)
_state = dict(next_ptr=1 << 32, used=0)
_sizes = {}  # pointer -> size of live driver allocations


def _alloc(nbytes):
    ptr = _state["next_ptr"]
    _state["next_ptr"] = ptr + -(-nbytes // 512) * 512  # NOTE: never reused: a stale pointer stays visible
    _sizes[ptr] = nbytes
    _state["used"] += nbytes
    return ptr


def _free(ptr):
    _state["used"] -= _sizes.pop(int(ptr), 0)


def _sync(name):
    def sync(*args):
        calls[name] += 1
        return _OK
    return sync


def _cuMemAllocAsync(nbytes, stream):
    calls["cuMemAllocAsync"] += 1
    return CUresult.CUDA_SUCCESS, _alloc(nbytes)


def _cuMemFreeAsync(ptr, stream):
    calls["cuMemFreeAsync"] += 1
    _free(ptr)
    return _OK


def _cuMemcpyDtoHAsync(dst, src, nbytes, stream):
    calls["cuMemcpyDtoHAsync"] += 1
    ctypes.memset(dst, 0, nbytes)  # NOTE: nothing was computed: the host reads zeros
    return _OK


def _cuMemcpyHtoDAsync(dst, src, nbytes, stream):
    calls["cuMemcpyHtoDAsync"] += 1
    return _OK


def _cuGraphLaunch(exec_, stream):
    calls["cuGraphLaunch"] += 1
    return _OK


def _pool_attr(pool, attr):
    return CUresult.CUDA_SUCCESS, _state["used"]


def _make_driver():
    ok = lambda *a: _OK  # noqa: E731
    one = lambda value: (lambda *a: (CUresult.CUDA_SUCCESS, value))  # noqa: E731
    attrs = types.SimpleNamespace(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR="major",
                                  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR="minor",
                                  CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT="sms")
    return types.SimpleNamespace(
        CUresult=CUresult,
        CUdevice_attribute=attrs,
        CUmemPool_attribute=_enum("CU_MEMPOOL_ATTR_RELEASE_THRESHOLD", "CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT",
                                  "CU_MEMPOOL_ATTR_USED_MEM_CURRENT"),
        CUstream_flags=_enum("CU_STREAM_DEFAULT", "CU_STREAM_NON_BLOCKING"),
        CUevent_flags=types.SimpleNamespace(CU_EVENT_DEFAULT=0, CU_EVENT_BLOCKING_SYNC=1, CU_EVENT_DISABLE_TIMING=2),
        CUstreamCaptureMode=_enum("CU_STREAM_CAPTURE_MODE_GLOBAL", "CU_STREAM_CAPTURE_MODE_THREAD_LOCAL",
                                  "CU_STREAM_CAPTURE_MODE_RELAXED"),
        cuuint64_t=int,
        cuInit=ok, cuDeviceGetCount=one(1), cuDeviceGet=one(0), cuDevicePrimaryCtxRetain=one(0x1000),
        cuCtxSetCurrent=ok, cuDeviceGetMemPool=one(0x2000), cuMemPoolSetAttribute=ok,
        cuDeviceGetAttribute=lambda attr, dev: (CUresult.CUDA_SUCCESS, {"major": 9, "minor": 0, "sms": 132}[attr]),
        cuDeviceGetName=one(b"tritongrad stub (no GPU: TRITONGRAD_STUB_CUDA=1)\0"),
        cuDriverGetVersion=one(13000),
        cuGetErrorString=one(b"tritongrad stub driver error"),
        cuMemGetInfo=lambda: (CUresult.CUDA_SUCCESS, _TOTAL - _state["used"], _TOTAL),
        cuMemAllocAsync=_cuMemAllocAsync, cuMemFreeAsync=_cuMemFreeAsync,
        cuMemAlloc=lambda n: (CUresult.CUDA_SUCCESS, _alloc(n)), cuMemFree=lambda p: (_free(p), _OK)[1],
        cuMemPoolGetAttribute=_pool_attr, cuMemPoolTrimTo=ok, cuMemsetD32Async=ok,
        cuMemcpyDtoHAsync=_cuMemcpyDtoHAsync, cuMemcpyHtoDAsync=_cuMemcpyHtoDAsync,
        cuStreamCreateWithPriority=lambda flags, prio: (CUresult.CUDA_SUCCESS, _alloc(1)),
        cuStreamDestroy=ok, cuStreamQuery=ok, cuStreamWaitEvent=ok,
        cuStreamSynchronize=_sync("cuStreamSynchronize"), cuCtxSynchronize=_sync("cuCtxSynchronize"),
        cuEventSynchronize=_sync("cuEventSynchronize"),
        cuEventCreate=lambda flags: (CUresult.CUDA_SUCCESS, object()), cuEventRecord=ok, cuEventQuery=ok,
        # NOTE: every timed interval is 1 ms: triton.testing.do_bench divides by it (plumbing, not timing)
        cuEventDestroy=ok, cuEventElapsedTime=one(1.0),
        cuStreamBeginCapture=ok, cuStreamEndCapture=lambda stream: (CUresult.CUDA_SUCCESS, object()),
        cuThreadExchangeStreamCaptureMode=lambda mode: (CUresult.CUDA_SUCCESS, 0),
        cuGraphInstantiate=lambda graph, flags: (CUresult.CUDA_SUCCESS, object()), cuGraphLaunch=_cuGraphLaunch,
        cuGraphDestroy=ok, cuGraphExecDestroy=ok,
    )


driver = _make_driver()


def kernel_launches():
    """Kernel launches that reached the stand-in cuLaunchKernelEx (Triton's C launcher) so far."""
    return int(_lib.tg_stub_launches()) if _lib is not None else 0


def counts():
    """A snapshot of the counted driver calls, kernel launches included ('launch')."""
    out = collections.Counter(calls)
    out["launch"] = kernel_launches()
    return out


def _refuse_a_real_driver():
    """Raise if this process loaded NVIDIA's libcuda already: Triton's launcher would link to it
    and launch for real with the stub's fake pointers."""
    try:
        with open("/proc/self/maps") as f:
            loaded = {line.split()[-1] for line in f if "libcuda.so" in line}
    except OSError:  # NOTE: not Linux: nothing to check
        return
    if loaded:
        raise RuntimeError(f"stubbed CUDA (TRITONGRAD_STUB_CUDA=1) needs a process that has not loaded NVIDIA's driver "
                           f"library, and this one has ({', '.join(sorted(loaded))}): initialize tritongrad.cuda "
                           f"before importing a CUDA library (torch with CUDA, CuPy, cuda-bindings)")


def install_libcuda():
    """Build (once, cached) and load the stand-in libcuda.so.1, and point Triton's build of its C
    helpers at it. Must run before Triton's driver is created (tritongrad.cuda.driver.install)."""
    global _lib
    if _lib is not None:
        return
    _refuse_a_real_driver()
    import triton

    include = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "include")
    with open(_SRC, "rb") as f:
        digest = hashlib.sha256(f.read() + include.encode()).hexdigest()[:16]
    cache = os.environ.get("TRITONGRAD_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "tritongrad")
    libdir = os.path.join(cache, f"stub-libcuda-{digest}")
    path = os.path.join(libdir, "libcuda.so.1")
    if not os.path.exists(path):
        os.makedirs(libdir, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        cc = os.environ.get("CC", "gcc")
        subprocess.run([cc, "-shared", "-fPIC", "-O2", f"-I{include}", "-Wl,-soname,libcuda.so.1", "-o", tmp, _SRC],
                       check=True, capture_output=True)
        os.replace(tmp, path)
    # NOTE: loaded globally under its soname first, so that Triton's cuda_utils (linked with
    # -l:libcuda.so.1) and its dlopen("libcuda.so.1") both get this one, not a real driver.
    _lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    _lib.tg_stub_launches.restype = ctypes.c_ulonglong
    triton.knobs.nvidia.libcuda_path = libdir

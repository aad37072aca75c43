"""Triton's driver for tritongrad: no torch, and kernels launch on tritongrad's current stream.

`install()` (called by tritongrad.cuda._lazy_init, before any launch) makes it Triton's active
driver with triton.runtime.driver.set_active(), which also skips Triton's driver discovery and its
torch imports. Why not Triton's own CudaDriver (research/triton-without-torch.md):
- triton 3.6/3.7: CudaDriver.__init__ and CudaDriver.is_active() import torch; without torch
  Triton finds "0 active drivers";
- triton >= 3.8: torch-free only while torch is not imported, and it then launches on the legacy
  NULL stream, which a CUDA graph cannot capture and which does not order with our stream.

triton.testing.do_bench, and so triton.autotune, work with either driver: they get
`tritongrad.cuda` as their `torch.cuda` (synchronize() and Event(enable_timing=True)).
"""
import triton
from triton.backends.driver import DriverBase
from triton.backends.nvidia.driver import CudaDriver, CudaLauncher, CudaUtils

from .._dtype import int32, uint8
from . import _runtime as rt
from .memory import empty
from .streams import current_stream


def _current_stream(device=None):
    # NOTE: Triton calls this at every launch (JITFunction.run): keep it short
    return current_stream().handle


def _current_device():
    return 0


def _set_current_device(device):
    rt.check_device(device)


class _TorchFreeBenchmarking:
    """What triton.testing.do_bench asks of the active driver, answered without torch."""

    def get_device_interface(self):
        import tritongrad.cuda

        return tritongrad.cuda

    def get_benchmarker(self):
        from triton.testing import do_bench

        return do_bench

    def get_active_torch_device(self):
        raise RuntimeError("tritongrad's Triton driver has no torch device")


class TritongradCudaDriver(_TorchFreeBenchmarking, CudaDriver):
    """Triton's CudaDriver on tritongrad's stream and device, never importing torch."""

    def __init__(self):
        # NOTE: CudaDriver.__init__ is skipped on purpose: on triton 3.6/3.7 it imports torch.
        self.utils = CudaUtils()  # Triton's C helpers (load_binary, ...): built with gcc once, cached
        self.launcher_cls = CudaLauncher
        self._capability = None
        # Triton reads these as attributes at every launch (JITFunction.run)
        self.get_current_device = _current_device
        self.set_current_device = _set_current_device
        self.get_current_stream = _current_stream
        self.get_device_capability = self._get_capability

    @staticmethod
    def is_active():
        return True

    def _get_capability(self, device=None):
        if self._capability is None:
            attr, cu = rt.cu.CUdevice_attribute, rt.cu
            self._capability = tuple(rt.check(cu.cuDeviceGetAttribute(a, rt.cu_device)) for a in (
                attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR))
        return self._capability

    def get_empty_cache_for_benchmark(self):
        return empty((256 * 1024 * 1024 // 4,), int32)  # NOTE: larger than any L2 cache we run on

    def clear_cache(self, cache):
        rt.check(rt.cu.cuMemsetD32Async(cache.data_ptr(), 0, cache.size_, current_stream().handle))

    def allocate_default_profile_scratch(self, size, alignment, stream):
        return _scratch(size, alignment, stream)


class InterpreterDriver(_TorchFreeBenchmarking, DriverBase):
    """The active driver under Triton's interpreter (emulated CUDA).

    The interpreter launches kernels by itself and never asks a driver; this one serves
    triton.testing.do_bench and triton.autotune, timed by host clocks (see streams.Event).
    """

    def __init__(self):
        self.get_current_device = _current_device
        self.set_current_device = _set_current_device
        self.get_current_stream = _current_stream

    @staticmethod
    def is_active():
        return True

    def get_current_target(self):
        raise RuntimeError("emulated CUDA has no GPU target: Triton's interpreter compiles nothing")

    def map_python_to_cpp_type(self, ty):
        raise RuntimeError("emulated CUDA has no launcher: Triton's interpreter compiles nothing")

    def get_empty_cache_for_benchmark(self):
        return None

    def clear_cache(self, cache):
        pass  # NOTE: the host has no GPU L2 cache for do_bench to flush between runs


def _scratch(size, alignment, stream):
    """Global memory a kernel asks for at launch (triton.set_allocator): device-side TMA descriptors."""
    if alignment > 256:  # NOTE: pool allocations are 256-byte aligned at least
        raise RuntimeError(f"tritongrad cannot allocate Triton scratch memory aligned to {alignment} bytes")
    return empty((size,), uint8)  # NOTE: on the current stream, the launch's: freed in order after it


def install():
    """Make our driver Triton's active one; called once by _lazy_init."""
    if rt.EMULATED:
        triton.runtime.driver.set_active(InterpreterDriver())
    else:
        triton.runtime.driver.set_active(TritongradCudaDriver())
        # NOTE: a context variable: threads started earlier (and their contexts) keep Triton's default
        triton.set_allocator(_scratch)

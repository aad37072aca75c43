"""Device memory: Storage (one allocation), arrays from and to the host, memory statistics.

Real GPU: memory comes from our caching layer in front of the device's stream-ordered pool.
Sizes are rounded up to classes (_size_class); a dead Storage's block goes to a free list of its
stream and class, and the next allocation of that class on that stream takes it back without any
driver call: safe, since work on one stream runs in order (PyTorch's caching allocator reuses
blocks the same way). Only a miss calls cuMemAllocAsync on the current stream; empty_cache() hands
the cached blocks back with cuMemFreeAsync and trims the pool. memory_allocated() counts the bytes
asked for by live storages, exactly; memory_reserved() is the pool's own figure (cached blocks
included). NOTE: why our own layer, when the pool caches too: a cuMemAllocAsync plus its
cuMemFreeAsync cost a few microseconds of driver time per tensor, more than the rest of a small
op's host path. While a CUDA graph is captured, storages allocated on the capturing stream come
from the graph's private pool instead (_GraphPool).

Emulated: a Storage is a host uint8 NumPy buffer, which Triton's interpreter reads and writes in
place (`cpu()` is the storage itself). The statistics count live Storage bytes in both modes.
"""
import os

import numpy as np

from . import _runtime as rt
from .array import DeviceArray, contiguous_layout
from .streams import current_stream

_allocated = 0  # bytes of live storages
_peak = 0
_emulated_limit = int(os.environ.get("TRITONGRAD_EMULATE_MEMORY_LIMIT", "0")) or None
_capture = None  # the _GraphPool of the graph capture under way (one at a time), else None
_graph_reserved = 0  # bytes held by graph pools
_cache = {}  # (stream handle, size class) -> pointers of free blocks allocated on that stream
_cache_streams = {}  # stream handle -> Stream: kept alive while it has cached blocks
_cached = 0  # bytes in _cache


def _size_class(nbytes):
    """The block size an allocation of `nbytes` gets: 512-byte steps up to 1 MiB, then steps of an
    eighth of the power of two below (at most 12.5% unused), so that blocks are reused often."""
    if nbytes <= 1 << 20:
        return (nbytes + 511) & ~511
    step = 1 << (nbytes.bit_length() - 4)
    return -(-nbytes // step) * step


class OutOfMemoryError(RuntimeError):
    """The device has no memory left for an allocation (torch.cuda.OutOfMemoryError)."""


class Storage:
    """One block of device memory, `nbytes` long at `data_ptr()`; freed when the object dies."""

    __slots__ = ("_ptr", "nbytes", "_size", "_stream", "_pool", "_host", "__weakref__")

    def __init__(self, nbytes, stream=None):
        global _allocated, _peak, _cached
        self.nbytes, self._ptr, self._pool, self._host = 0, 0, None, None  # what __del__ reads
        self._stream = stream = current_stream() if stream is None else stream  # NOTE: frees go here too
        if nbytes:
            # NOTE: the common case inline (a cached block of this class on this stream): this runs
            # for every tensor an op makes
            self._size = size = (nbytes + 511) & ~511 if nbytes <= 1 << 20 else _size_class(nbytes)
            free = _cache.get((stream.handle, size))
            if free and (_capture is None or stream is not _capture.stream):
                self._ptr = free.pop()
                _cached -= size
            else:
                self._ptr, self._host, self._pool = self._allocate(nbytes, size, stream)
            self.nbytes = nbytes
            _allocated += nbytes
            if _allocated > _peak:
                _peak = _allocated

    @staticmethod
    def _allocate(nbytes, size, stream):
        got = _try_alloc(nbytes, size, stream)
        if got is None:
            empty_cache()
            got = _try_alloc(nbytes, size, stream)
            if got is None:
                # NOTE: a failed cuMemAllocAsync leaves what it mapped in the pool (whose release
                # threshold is the maximum): measured on an H100, a failed 158 GiB request left
                # 10 MiB free for every process until the pool was trimmed.
                empty_cache()
                raise OutOfMemoryError(_oom_message(nbytes))
        return got

    def data_ptr(self):
        return self._ptr

    # --- what Triton's interpreter calls on an argument's storage (emulated only) -----------------
    def cpu(self):
        if self._host is None and self.nbytes:
            raise RuntimeError("a GPU Storage is not host memory; only emulated CUDA runs the interpreter")
        return self

    def copy_(self, other):
        if other.data_ptr() != self._ptr:
            np.copyto(self.cpu()._host, other.cpu()._host)
        return self

    def __repr__(self):
        return f"Storage(nbytes={self.nbytes}, data_ptr={self._ptr:#x})"

    def __del__(self):
        global _allocated
        if not self.nbytes:
            return
        try:
            _allocated -= self.nbytes
            if self._host is not None:
                return  # NumPy frees it
            if self._pool is not None:
                self._pool.release(self._ptr, self.nbytes)
            elif _capture is None:
                _cache_block(self._ptr, self._size, self._stream)
            else:
                _free_when_safe(_cache_block, self._ptr, self._size, self._stream)
        except Exception:  # interpreter shutdown: modules or the context may be gone
            pass


def _try_alloc(nbytes, size, stream):
    """(pointer, host buffer, graph pool) of a new allocation of `nbytes` (size class `size`), or
    None when out of memory. NOTE: Storage() takes a cached block itself before calling this."""
    if rt.EMULATED:
        if _emulated_limit is not None and _allocated + nbytes > _emulated_limit:
            return None
        try:
            host = np.empty(nbytes, np.uint8)
        except MemoryError:
            return None
        return host.ctypes.data, host, None
    if _capture is not None and stream is _capture.stream:
        ptr = _capture.allocate(nbytes)
        return None if ptr is None else (ptr, None, _capture)
    err, ptr = rt.cu.cuMemAllocAsync(size, stream.handle)
    if err == rt.cu.CUresult.CUDA_ERROR_OUT_OF_MEMORY:
        return None
    rt.check((err,))
    return int(ptr), None, None


class _GraphPool:
    """Memory of the storages allocated while a CUDA graph is captured (PyTorch's graph pool).

    NOTE: why not stream-ordered allocations on the capturing stream (graph memory nodes): those
    are only backed while the graph runs, yet Triton's launcher checks every pointer with
    cuPointerGetAttribute at capture time, and a replay writes its outputs into storages that
    outlive it. So these are plain cuMemAlloc blocks (the thread's capture mode made relaxed
    around the call, as PyTorch does), reused within the capture by size (safe: one stream,
    replayed in capture order), and freed when the pool dies: after its graph is reset and every
    storage from it is gone (storages and the graph hold the pool).
    """

    __slots__ = ("stream", "blocks", "free", "deferred")

    def __init__(self):
        self.stream = None  # the capturing stream
        self.blocks = []  # (pointer, size) of every cuMemAlloc
        self.free = {}  # size -> pointers free for reuse
        self.deferred = []  # (free function, args) of memory released while capturing

    def allocate(self, nbytes):
        global _graph_reserved
        size = -(-nbytes // 512) * 512
        if self.free.get(size):
            return self.free[size].pop()
        cu = rt.cu
        mode = rt.check(cu.cuThreadExchangeStreamCaptureMode(
            cu.CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_RELAXED))
        try:
            err, ptr = cu.cuMemAlloc(size)
        finally:
            cu.cuThreadExchangeStreamCaptureMode(mode)
        if err == cu.CUresult.CUDA_ERROR_OUT_OF_MEMORY:
            return None
        rt.check((err,))
        self.blocks.append((int(ptr), size))
        _graph_reserved += size
        return int(ptr)

    def release(self, ptr, nbytes):
        self.free.setdefault(-(-nbytes // 512) * 512, []).append(ptr)

    def __del__(self):
        if self.blocks:
            _free_when_safe(_free_blocks, self.blocks)


def _cache_block(ptr, size, stream):
    """A dead Storage's block, kept for the next allocation of its size class on its stream."""
    global _cached
    key = (stream.handle, size)
    free = _cache.get(key)
    if free is None:
        free = _cache[key] = []
        _cache_streams[stream.handle] = stream
    free.append(ptr)
    _cached += size


def _release_cache():
    """Hand every cached block back to the pool, in order on the stream it was allocated on."""
    global _cached
    for (handle, _), ptrs in _cache.items():
        for ptr in ptrs:
            rt.check(rt.cu.cuMemFreeAsync(ptr, handle))
    _cache.clear()
    _cache_streams.clear()
    _cached = 0


def _free_blocks(blocks):
    global _graph_reserved
    rt.ensure_thread()
    rt.check(rt.cu.cuCtxSynchronize())  # NOTE: a replay may still be using them
    for ptr, size in blocks:
        rt.cu.cuMemFree(ptr)
        _graph_reserved -= size


def _free_when_safe(free, *args):
    """Free now, or after the capture under way: a free on a capturing stream would be recorded
    into the graph, synchronizing would break the capture, and the graph may use this memory."""
    try:
        if _capture is not None:
            _capture.deferred.append((free, args))
        else:
            free(*args)
    except Exception:  # interpreter shutdown: modules or the context may be gone
        pass


def end_capture():
    """Called by CUDAGraph.capture_end: frees deferred while capturing may happen now."""
    global _capture
    pool, _capture = _capture, None
    deferred, pool.deferred = pool.deferred, []
    for free, args in deferred:
        _free_when_safe(free, *args)


# --- arrays ------------------------------------------------------------------------------------------
def empty(shape, dtype):
    """A new contiguous DeviceArray of `shape` and tritongrad `dtype`; its memory is uninitialized."""
    shape = tuple(shape)
    strides, n = contiguous_layout(shape)
    return DeviceArray(Storage(n * dtype.itemsize), 0, shape, strides, dtype)


def from_host(np_array, dtype):
    """A new contiguous DeviceArray holding a copy of `np_array` (any layout, dtype `dtype.np`)."""
    a = empty(np_array.shape, dtype)
    copy_host_to_device_(a, np_array)
    return a


def copy_host_to_device_(dst, np_array):
    """Copy `np_array` (same number of elements, dtype `dst.dtype.np`) into contiguous `dst`."""
    if np_array.dtype != dst.dtype.np:
        raise TypeError(f"expected a host array of {dst.dtype.np}, got {np_array.dtype}")
    if not dst.is_contiguous():
        raise ValueError("copy_host_to_device_ needs a contiguous destination")
    if np_array.size != dst.size_:
        raise ValueError(f"cannot copy {np_array.size} elements into an array of shape {dst.shape}")
    host = np.asarray(np_array)  # NOTE: a NumPy scalar (a 0-dim comparison makes one) has no .ctypes
    if not host.flags.c_contiguous:
        host = np.ascontiguousarray(host)
    if not host.nbytes:
        return dst
    if rt.EMULATED:
        start = dst.offset * dst.itemsize
        dst.buf._host[start:start + host.nbytes] = host.reshape(-1).view(np.uint8)
        return dst
    stream = _not_capturing("copying from the host")
    rt.check(rt.cu.cuMemcpyHtoDAsync(dst.data_ptr(), host.ctypes.data, host.nbytes, stream.handle))
    # NOTE: synchronous as PyTorch's blocking copy: the caller may free `host` as soon as we return
    rt.check(rt.cu.cuStreamSynchronize(stream.handle))
    return dst


def to_host(a):
    """A new C-contiguous NumPy array (dtype `a.dtype.np`) with the values of `a`; synchronizes."""
    np_dtype, it = a.dtype.np, a.dtype.itemsize
    if not a.size_:
        return np.empty(a.shape, np_dtype)
    # the span of storage the view touches, in elements: strides may be negative, zero or anything
    lo = a.offset + sum((n - 1) * s for n, s in zip(a.shape, a.strides) if s < 0)
    hi = a.offset + sum((n - 1) * s for n, s in zip(a.shape, a.strides) if s > 0) + 1
    if rt.EMULATED:
        raw = a.buf._host[lo * it:hi * it]
    else:
        stream = _not_capturing("copying to the host")
        raw = np.empty((hi - lo) * it, np.uint8)
        rt.check(rt.cu.cuMemcpyDtoHAsync(raw.ctypes.data, a.buf.data_ptr() + lo * it, raw.nbytes, stream.handle))
        rt.check(rt.cu.cuStreamSynchronize(stream.handle))
        if a.is_contiguous():
            return raw.view(np_dtype).reshape(a.shape)
    base = raw.view(np_dtype)[a.offset - lo:]
    view = np.lib.stride_tricks.as_strided(base, a.shape, tuple(s * it for s in a.strides))
    return view.copy()  # NOTE: C order, and never aliasing the emulated device memory


def _not_capturing(what):
    stream = current_stream()
    if _capture is not None and stream is _capture.stream:
        raise RuntimeError(f"{what} is not allowed while capturing a CUDA graph; do it before capture_begin()")
    return stream


# --- statistics and the cache ----------------------------------------------------------------------
def memory_allocated(device=None):
    """Bytes of device memory held by live tritongrad storages (torch.cuda.memory_allocated)."""
    rt.check_device(device)
    return _allocated


def max_memory_allocated(device=None):
    """The peak of memory_allocated() since the start or reset_peak_memory_stats()."""
    rt.check_device(device)
    return _peak


def reset_peak_memory_stats(device=None):
    global _peak
    rt.check_device(device)
    _peak = _allocated


def memory_reserved(device=None):
    """Bytes the allocator holds from the driver: allocated plus cached (torch.cuda.memory_reserved)."""
    rt.check_device(device)
    if rt.EMULATED or not rt.initialized:
        return _allocated  # NOTE: emulated memory is never cached
    return _pool_attr("RESERVED_MEM_CURRENT") + _graph_reserved


def empty_cache():
    """Return the memory cached for reuse (our free blocks, then the pool's) to the driver
    (torch.cuda.empty_cache). Synchronizes the device.

    Emulated: nothing is cached; NumPy returns freed buffers at once.
    """
    if rt.EMULATED or not rt.initialized:
        return
    if _capture is None:
        _release_cache()  # NOTE: while capturing, a free would be recorded into the graph: kept
        # NOTE: frees complete in stream order; only completed ones can be trimmed
        rt.check(rt.cu.cuCtxSynchronize())
    rt.check(rt.cu.cuMemPoolTrimTo(rt.mempool, 0))


def set_emulated_limit(nbytes):
    """Cap emulated device memory at `nbytes` (None: no cap), e.g. to test out-of-memory handling.

    Also settable with the environment variable TRITONGRAD_EMULATE_MEMORY_LIMIT (bytes).
    """
    global _emulated_limit
    if not rt.EMULATED:
        raise RuntimeError("set_emulated_limit() applies to emulated CUDA only (TRITONGRAD_EMULATE_CUDA=1)")
    _emulated_limit = None if nbytes is None else int(nbytes)


def _pool_attr(name):
    attr = getattr(rt.cu.CUmemPool_attribute, "CU_MEMPOOL_ATTR_" + name)
    return int(rt.check(rt.cu.cuMemPoolGetAttribute(rt.mempool, attr)))


def _format_size(n):
    """As PyTorch's allocator messages print sizes."""
    if n <= 1024:
        return f"{n} bytes"
    for unit, scale in (("KiB", 2**10), ("MiB", 2**20), ("GiB", 2**30)):
        if n <= scale * 1024 or unit == "GiB":
            return f"{n / scale:.2f} {unit}"


def _oom_message(nbytes):
    f = _format_size
    if rt.EMULATED:
        if _emulated_limit is None:
            device, unused = "GPU 0 (emulated) allocates host memory, and the host has no more.", 0
        else:
            free = max(_emulated_limit - _allocated, 0)
            device = f"GPU 0 (emulated) has a total capacity of {f(_emulated_limit)} of which {f(free)} is free."
            unused = 0
    else:
        free, total = rt.check(rt.cu.cuMemGetInfo())
        device = f"GPU 0 has a total capacity of {f(total)} of which {f(free)} is free."
        unused = _pool_attr("RESERVED_MEM_CURRENT") - _pool_attr("USED_MEM_CURRENT")
    return (f"CUDA out of memory. Tried to allocate {f(nbytes)}. {device} Of the allocated memory {f(_allocated)} "
            f"is allocated by tritongrad, and {f(unused)} is reserved by tritongrad but unallocated.")

"""Device state shared by the runtime modules: emulation flag, lazy initialization, error checks.

Importing this imports neither triton nor cuda-bindings (`import tritongrad` stays cheap and works
without them); `lazy_init()` does, the first time a CUDA array, stream or kernel is needed.
"""
import os
import threading

EMULATED = os.environ.get("TRITONGRAD_EMULATE_CUDA", "0") not in ("", "0")
# Stubbed CUDA (stub.py): the real GPU code path with the driver and the final launch stubbed out,
# to measure host overhead without a GPU. Never together with emulation.
STUBBED = os.environ.get("TRITONGRAD_STUB_CUDA", "0") not in ("", "0")
if STUBBED and EMULATED:
    raise RuntimeError("TRITONGRAD_STUB_CUDA=1 and TRITONGRAD_EMULATE_CUDA=1 exclude each other: choose one")
if STUBBED:
    os.environ["TRITON_INTERPRET"] = "0"  # NOTE: the compiled path is the one measured (a parent may have set it)
if EMULATED:
    # NOTE: Triton chooses interpreter or compiler when @triton.jit runs, i.e. when a kernel module
    # is imported: set it now, so that kernels imported before the first CUDA op are covered too.
    os.environ["TRITON_INTERPRET"] = "1"
# NOTE: fused multiply-add on, explicitly: Triton 3.9 warns that its default flips to off in 3.10, and
# the same kernels should round the same way on every Triton we support (the user's setting wins).
os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")

_EMULATE_HINT = ", or set TRITONGRAD_EMULATE_CUDA=1 to run CUDA code on the CPU through Triton's interpreter"
NO_DRIVER = ("Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU and installed a "
             "driver from http://www.nvidia.com/Download/index.aspx" + _EMULATE_HINT)
NO_GPU = "No CUDA GPUs are available" + _EMULATE_HINT
NO_BINDINGS = ("tritongrad's CUDA backend needs NVIDIA's cuda-bindings: pip install 'tritongrad[cu13]' "
               "(NVIDIA driver >= 580) or 'tritongrad[cu12]'" + _EMULATE_HINT)
NO_TRITON = "emulated CUDA runs kernels with Triton's interpreter: pip install triton"

cu = None              # cuda.bindings.driver, once a real GPU is initialized
cu_device = None       # its CUdevice (we use GPU 0 only)
context = None         # its primary context: the one Triton, cuda.core, CuPy and torch use too
mempool = None         # its stream-ordered memory pool (CUDA's caching allocator)
default_stream = None  # the project-owned non-blocking stream (a streams.Stream)
tls = threading.local()  # per thread: .stream, the stream set by `with tritongrad.cuda.stream(s)`

initialized = False
_lock = threading.RLock()
_device_count = None


class CUDAError(RuntimeError):
    """A CUDA driver call failed; `.code` is its CUresult."""

    def __init__(self, code):
        self.code = code
        name = getattr(code, "name", str(code))
        try:
            desc = cu.cuGetErrorString(code)[1]
            desc = desc.decode() if isinstance(desc, bytes) else desc
        except Exception:
            desc = name
        super().__init__(f"CUDA error: {desc} ({name})")


def check(result):
    """The values returned by a cuda-bindings call, a tuple (CUresult, *values); raises CUDAError."""
    if result[0]:  # NOTE: CUresult is an int enum, CUDA_SUCCESS == 0
        raise CUDAError(result[0])
    return None if len(result) == 1 else result[1] if len(result) == 2 else result[1:]


def check_device(device):
    """Accept the one device we run on: None, 0, 'cuda', 'cuda:0' or a device object for those."""
    index = device if isinstance(device, (str, int)) else getattr(device, "index", device)
    if isinstance(index, str):
        kind, _, num = index.partition(":")
        if kind != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {device}")
        index = int(num) if num else None
    if index not in (None, 0):
        raise ValueError(f"tritongrad runs on one GPU, cuda:0; got device {device!r}")


def lazy_init():
    """Initialize the device once (thread-safe): real GPU or interpreter, then Triton's driver.

    Real: cuInit, the primary context of GPU 0, its memory pool made caching, our stream.
    Emulated: TRITON_INTERPRET=1. Both: install our Triton driver before any kernel launches.
    """
    global initialized, default_stream
    if initialized:
        return
    with _lock:
        if initialized:
            return
        if not EMULATED:
            _init_device()
        else:
            try:
                import triton  # noqa: F401
            except ImportError:
                raise RuntimeError(NO_TRITON) from None
            os.environ["TRITON_INTERPRET"] = "1"
        from . import driver, streams

        default_stream = streams.Stream.__new__(streams.Stream)
        default_stream._create(0)
        driver.install()
        initialized = True


def _init_device():
    global cu, cu_device, context, mempool
    try:
        if STUBBED:
            from . import stub

            stub.install_libcuda()
            cu_ = stub.driver
        else:
            from cuda.bindings import driver as cu_
    except ImportError:
        raise RuntimeError(NO_BINDINGS) from None
    try:
        err = cu_.cuInit(0)[0]
    except RuntimeError:  # NOTE: cuda-pathfinder raises DynamicLibNotFoundError without libcuda.so
        raise RuntimeError(NO_DRIVER) from None
    if err == cu_.CUresult.CUDA_ERROR_NO_DEVICE or (not err and not cu_.cuDeviceGetCount()[1]):
        raise RuntimeError(NO_GPU)
    cu = cu_
    check((err,))
    cu_device = check(cu.cuDeviceGet(0))
    context = check(cu.cuDevicePrimaryCtxRetain(cu_device))
    check(cu.cuCtxSetCurrent(context))
    mempool = check(cu.cuDeviceGetMemPool(cu_device))
    # NOTE: with the default release threshold (0) the pool hands freed memory back to the driver
    # at every synchronization; an unbounded one makes it a caching allocator (empty_cache() trims).
    check(cu.cuMemPoolSetAttribute(mempool, cu.CUmemPool_attribute.CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                                   cu.cuuint64_t(2**64 - 1)))


def ensure_thread():
    """Initialize on first use; on a thread's first CUDA call make the primary context current there.

    NOTE: the driver API's current context is per thread, and a new thread has none.
    """
    if not hasattr(tls, "stream"):
        lazy_init()
        if cu is not None:
            check(cu.cuCtxSetCurrent(context))
        tls.stream = None  # None: the default stream


def device_count():
    """Number of GPUs tritongrad can use: 0 or 1 (we use only cuda:0). Never raises."""
    global _device_count
    if EMULATED or STUBBED:
        return 1
    if _device_count is None:
        try:
            from cuda.bindings import driver as cu_

            n = 0 if cu_.cuInit(0)[0] else cu_.cuDeviceGetCount()[1]
        except Exception:  # NOTE: no cuda-bindings (ImportError), no libcuda.so (RuntimeError), ...
            n = 0
        _device_count = min(int(n or 0), 1)
    return _device_count


def synchronize(device=None):
    """Wait for all work on the GPU, every stream (torch.cuda.synchronize)."""
    check_device(device)
    ensure_thread()
    if cu is not None:
        check(cu.cuCtxSynchronize())


def get_device_name(device=None):
    check_device(device)
    lazy_init()
    if EMULATED:
        return "Emulated CUDA (Triton interpreter on the CPU)"
    return check(cu.cuDeviceGetName(256, cu_device)).split(b"\0", 1)[0].decode()

"""tritongrad.cuda: the device runtime, with torch.cuda's names.

One GPU (cuda:0) through NVIDIA's cuda-bindings: the primary context, a project-owned
non-blocking stream that all work goes to (so it can be captured into a CUDA graph), CUDA's
stream-ordered memory pool, events, graphs, and a torch-free Triton driver launching on our stream.

Emulated CUDA: with TRITONGRAD_EMULATE_CUDA=1 in the environment (read once, at import), the
same API runs on the CPU: device memory is host memory, and the Triton kernels run under Triton's
interpreter (TRITON_INTERPRET=1, set here). This is how machines without a GPU test the CUDA path.

Stubbed CUDA: with TRITONGRAD_STUB_CUDA=1, the real GPU code path runs with a stand-in driver that
runs nothing (stub.py): for measuring host overhead without a GPU, never for values.

Importing this is cheap: triton and cuda-bindings are imported on first use (_lazy_init()).
"""
from . import _runtime
from ._runtime import device_count, get_device_name, synchronize
from .array import DeviceArray
from .graphs import CUDAGraph, graph, is_current_stream_capturing
from .memory import (
    OutOfMemoryError,
    empty_cache,
    max_memory_allocated,
    memory_allocated,
    memory_reserved,
    reset_peak_memory_stats,
)
from .streams import Event, Stream, StreamContext, current_stream, default_stream, stream


def _lazy_init():
    """Initialize the device on first use (idempotent, cheap after the first call).

    Raises a RuntimeError saying what to install, or how to emulate, when there is no usable GPU.
    """
    _runtime.lazy_init()


init = _lazy_init


def make_graphed_callables(callables, sample_args, num_warmup_iters=3, allow_unused_input=False, pool=None):
    """torch.cuda.make_graphed_callables: each callable's forward and backward as CUDA graphs
    (tritongrad/_compile.py). Without a GPU (emulated CUDA, CPU sample arguments) the callables
    are returned unchanged."""
    from .._compile import make_graphed_callables as impl  # NOTE: needs Tensor and autograd: imported on use

    return impl(callables, sample_args, num_warmup_iters, allow_unused_input, pool)


def is_available():
    """True if tritongrad can run CUDA code here: a GPU with its driver and cuda-bindings, or
    emulation. Never raises."""
    return _runtime.EMULATED or _runtime.device_count() > 0


def is_emulated():
    """True when CUDA is emulated on the CPU (TRITONGRAD_EMULATE_CUDA=1)."""
    return _runtime.EMULATED


def is_stubbed():
    """True when CUDA is stubbed (TRITONGRAD_STUB_CUDA=1): the GPU code path with a stand-in driver
    that runs nothing, for measuring host overhead without a GPU (tritongrad/cuda/stub.py)."""
    return _runtime.STUBBED


def is_initialized():
    return _runtime.initialized


def current_device():
    """The index of the device in use: always 0 (tritongrad runs on one GPU)."""
    _runtime.lazy_init()
    return 0


# --- the CUDA generator (tritongrad/random.py): torch.cuda's seeding functions -----------------------
def manual_seed(seed):
    """Seed the CUDA generator (torch.cuda.manual_seed; one GPU, so manual_seed_all is the same)."""
    from ..random import cuda_generator

    cuda_generator.manual_seed(seed)


manual_seed_all = manual_seed


def seed():
    from ..random import cuda_generator

    cuda_generator.seed()


seed_all = seed


def initial_seed():
    from ..random import cuda_generator

    return cuda_generator.initial_seed()


def get_rng_state(device="cuda"):
    """The CUDA generator's state: 16 bytes, its seed and Philox offset (a uint8 CPU Tensor)."""
    from ..random import cuda_generator

    return cuda_generator.get_state()


def set_rng_state(new_state, device="cuda"):
    from ..random import cuda_generator

    cuda_generator.set_state(new_state)


__all__ = ["CUDAGraph", "DeviceArray", "Event", "OutOfMemoryError", "Stream", "StreamContext", "current_device",
           "current_stream", "default_stream", "device_count", "empty_cache", "get_device_name", "graph", "init",
           "is_available", "is_current_stream_capturing", "is_emulated", "is_initialized", "is_stubbed",
           "make_graphed_callables", "max_memory_allocated", "memory_allocated", "memory_reserved",
           "reset_peak_memory_stats", "stream", "synchronize", "manual_seed", "manual_seed_all", "seed", "seed_all",
           "initial_seed", "get_rng_state", "set_rng_state"]

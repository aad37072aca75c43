"""tritongrad: define-by-run autograd with PyTorch's API; Triton kernels on CUDA, NumPy on the CPU.

    >>> import tritongrad as tg
    >>> x = tg.ones(2, 2, requires_grad=True)
    >>> y = (x * 3).mean()
    >>> y.backward(); x.grad
    tensor([[0.7500, 0.7500],
            [0.7500, 0.7500]])
"""
from . import autograd, backends, cuda, distributed, linalg, nn, optim, utils
from ._compile import compile as compile  # noqa: A004  (torch.compile: CUDA graphs, "reduce-overhead")
from ._creation import *  # noqa: E402,F401,F403
from ._creation import __all__ as _creation_all  # noqa: E402
from ._device import device  # noqa: E402
from ._dlpack import from_dlpack  # noqa: E402
from ._dtype import (  # noqa: E402
    bfloat16,
    bool_ as bool,
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    set_default_dtype,
    uint8,
)
from ._legacy_ctors import *  # noqa: E402,F401,F403
from ._legacy_ctors import __all__ as _legacy_all  # noqa: E402
from ._tensor_index import *  # noqa: E402,F401,F403
from ._tensor_index import __all__ as _index_all  # noqa: E402
from ._tensor_join import *  # noqa: E402,F401,F403
from ._tensor_join import __all__ as _join_all  # noqa: E402
from ._tensor_str import set_printoptions  # noqa: E402
from .autograd import (  # noqa: E402
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .autograd.anomaly import is_anomaly_check_nan_enabled, is_anomaly_enabled  # noqa: E402
from .backends._blas import get_num_threads, set_num_threads  # noqa: E402
from .functional import *  # noqa: E402,F401,F403
from .functional import (  # noqa: E402,F401
    _METHODS,
    MATH_FUNCTIONS as _MATH_FUNCTIONS,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    broadcast_shapes,
    broadcast_tensors,
    broadcast_to,
    count_nonzero,
    einsum,
    is_floating_point,
    is_tensor,
    meshgrid,
    where,
)
from .ops.random import bernoulli, multinomial  # noqa: E402
from .random import Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state  # noqa: E402,E501
from .serialization import load, save  # noqa: E402
from .tensor import Size, Tensor  # noqa: E402

float, double, half, long, int, short = float32, float64, float16, int64, int32, int16  # noqa: A001


def is_inference(input):
    """Whether `input` is an inference tensor (made inside inference_mode), as torch.is_inference."""
    if not isinstance(input, Tensor):
        raise TypeError(f"is_inference(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    return input.is_inference()


def __getattr__(name):
    if name == "__version__":  # read on first use: importing importlib.metadata costs 15 ms of a 160 ms import
        from ._version import version

        return version()
    raise AttributeError(f"module 'tritongrad' has no attribute {name!r}")

__all__ = ["Tensor", "Size", "device", "dtype", "get_default_dtype", "set_default_dtype", "promote_types",
           "autograd", "backends", "cuda", "distributed", "no_grad", "enable_grad",
           "set_grad_enabled", "is_grad_enabled", "inference_mode", "is_inference_mode_enabled",
           "is_inference", "get_num_threads", "set_num_threads", "broadcast_shapes", "broadcast_tensors",
           "broadcast_to", "count_nonzero", "atleast_1d", "atleast_2d", "atleast_3d", "meshgrid", "manual_seed",
           "initial_seed", "where",
           "is_tensor",
           "set_printoptions", "float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
           "uint8", "bool", "float", "double", "half", "long", "int", "short", "nn", "optim", "utils", "save", "load",
           "from_dlpack", "is_anomaly_enabled", "is_anomaly_check_nan_enabled", "Generator", "default_generator",
           "seed", "get_rng_state", "set_rng_state", "bernoulli", "multinomial", "linalg", "einsum", *_legacy_all,
           *_creation_all, *_METHODS, *_index_all, *_join_all, *_MATH_FUNCTIONS]

"""Argument checks of tritongrad.nn.functional with PyTorch's types and messages: its parser's
TypeErrors (a Number, a Tensor), its kernels' NotImplementedError for integer inputs, and the
deprecated size_average / reduce arguments of the losses.
"""
import warnings

from .._args import TensorBase, check_dtype, check_tensor, index, scalar_name, type_name  # noqa: F401  NOTE: F's
from .._dtype import bool_
from ..ops.inplace import _SCALAR_NAMES
from ..ops.util import check_device

_REDUCTIONS = ("none", "mean", "sum")


def number(v, fn, name, pos=None):
    """A Number parameter as a Python number: an int, float or bool, or a 0-d tensor (read as one)."""
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, TensorBase) and not v._data.ndim:
        return v.item()
    at = f" (position {pos})" if pos else ""
    raise TypeError(f"{fn}(): argument '{name}'{at} must be Number, not {type_name(v)}")


def optional_tensor(v, fn, name, pos=None):
    if v is not None and not isinstance(v, TensorBase):
        check_tensor(v, fn, name, pos)


def float_kernel(kernel, t, device=True):
    """PyTorch's error for a kernel without integer or bool versions (elu, softplus, huber, ...);
    `device`: the kernel's name ends with the device's ("elu_cpu")."""
    if not t._dtype.is_floating_point:
        name = f"{kernel}_{t.device.type}" if device else kernel
        raise NotImplementedError(f"\"{name}\" not implemented for '{_SCALAR_NAMES[t._dtype.name]}'")


def legacy_reduction(size_average, reduce):
    """PyTorch's _Reduction.legacy_get_string: the reduction the deprecated arguments stand for."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{ret}' instead.",
                  UserWarning, stacklevel=4)
    return ret


def batch_norm(running_mean, running_var, weight, bias, training, momentum, eps):
    """torch.batch_norm's parser: the tensors (or None), training a bool, momentum and eps numbers."""
    for pos, name, t in ((2, "weight", weight), (3, "bias", bias), (4, "running_mean", running_mean),
                         (5, "running_var", running_var)):
        optional_tensor(t, "batch_norm", name, pos)
    if training.__class__ is not bool:
        raise TypeError(f"batch_norm(): argument 'training' (position 6) must be bool, not {type_name(training)}")
    return number(momentum, "batch_norm", "momentum", 7), number(eps, "batch_norm", "eps", 8)


def logits_dtypes(input, target):
    """binary_cross_entropy_with_logits' dtype errors in PyTorch's order: log_sigmoid(input), then (1 - target)."""
    float_kernel("log_sigmoid", input)
    if target.dtype is bool_:
        1 - target  # NOTE: raises PyTorch's error for `-` on a bool tensor
    if not target.dtype.is_floating_point:
        raise RuntimeError(f"result type {scalar_name(input.dtype)} can't be cast to the desired output type "
                           f"{scalar_name(target.dtype)}")


def _check_reduction(reduction, size_average=None, reduce=None):
    """The reduction; the deprecated size_average / reduce, when given, decide it (PyTorch's legacy rule)."""
    if size_average is not None or reduce is not None:
        return legacy_reduction(size_average, reduce)
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _check_target(input, target, weight):
    if not isinstance(target, TensorBase):
        raise TypeError(f"target must be a Tensor, not {type(target).__name__}")
    check_device(input, target)
    if input.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    if weight is not None:
        check_device(input, weight)


def _check_weight_classes(input, weight):
    """After the batch size and target checks, as PyTorch's kernel checks it."""
    n_classes = input.shape[1 if input.ndim > 1 else 0]
    if weight is not None and weight.shape != (n_classes,):
        raise RuntimeError(f"weight tensor should be defined either for all {n_classes} classes or no "
                           f"classes but got weight tensor of shape: [{', '.join(map(str, weight.shape))}]")


def _check_classes(target, n_classes, ignore_index):
    """PyTorch's error for a class index out of range (CPU only: on CUDA it would cost a sync)."""
    t = target.numpy()
    bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(f"Target {t[bad].flat[0]} is out of bounds.")


def _check_weight(weight, input):
    if weight is not None and weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")


def _check_unit_interval(t, name):
    """PyTorch's range error (CPU only: on CUDA it would cost a sync, and PyTorch's kernel asserts)."""
    if not t.is_cuda:
        a = t.detach().numpy()
        if not ((a >= 0) & (a <= 1)).all():
            raise RuntimeError(f"all elements of {name} should be between 0 and 1")

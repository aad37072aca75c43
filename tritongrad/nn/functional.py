"""tritongrad.nn.functional: activations, linear, softmax, losses and dropout, as torch.nn.functional.

Example:
    >>> import tritongrad.nn.functional as F
    >>> loss = F.cross_entropy(logits, labels)     # logits (N, C) float, labels (N,) int64
"""
import warnings

from .. import _dtype as dt
from ..ops import loss as L
from ..ops.elementwise import gelu  # noqa: F401  NOTE: its row is in ops/elementwise.py
from ..ops.util import check_device, result_type, wrap_dim
from ..tensor import Tensor

_REDUCTIONS = ("none", "mean", "sum")


def relu(input, inplace=False):
    return input.relu_() if inplace else input.relu()


def sigmoid(input):
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def linear(input, weight, bias=None):
    """input @ weight.T + bias: input (*, in_features), weight (out_features, in_features)."""
    out = input.matmul(weight.t())
    return out if bias is None else out + bias


def _softmax_dim(name, ndim):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an "
                  "argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def _softmax(cls, name, input, dim, dtype):
    if dim is None:
        dim = _softmax_dim(name, input.ndim)
    if dtype is not None:
        input = input.to(dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f'"{name}_lastdim_kernel_impl" not implemented for \'{input.dtype.name.capitalize()}\'')
    if input.ndim == 0:  # NOTE: the backends work on rows: a 0-d tensor is one row of one
        wrap_dim(dim, 0)
        return cls.apply(input.reshape(1), 0).reshape(())
    return cls.apply(input, wrap_dim(dim, input.ndim))


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """log(softmax(input)) along `dim`, computed stably in one fused pass."""
    return _softmax(L.LogSoftmax, "log_softmax", input, dim, dtype)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(input) / sum(exp(input)) along `dim`, computed stably in one fused pass."""
    return _softmax(L.Softmax, "softmax", input, dim, dtype)


def _check_reduction(reduction, size_average=None, reduce=None):
    if size_average is not None or reduce is not None:
        raise NotImplementedError("size_average and reduce are deprecated in PyTorch and not supported by "
                                  "tritongrad: use reduction='none' | 'mean' | 'sum'")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_target(input, target, weight):
    if not isinstance(target, Tensor):
        raise TypeError(f"target must be a Tensor, not {type(target).__name__}")
    check_device(input, target)
    if input.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    if weight is not None:
        check_device(input, weight)
        if weight.shape != (input.shape[1 if input.ndim > 1 else 0],):
            raise RuntimeError(f"weight tensor should be defined either for all {input.shape[1]} classes or no "
                               f"classes but got weight tensor of shape: [{', '.join(map(str, weight.shape))}]")


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """-input[n, target[n]] (times weight[target[n]]), reduced; input holds log-probabilities (N, C, d...).

    `target` holds class indices (int64) of shape (N, d...); targets equal to `ignore_index` count
    for nothing (and not in the mean's denominator).
    """
    _check_reduction(reduction, size_average, reduce)
    _check_target(input, target, weight)
    if target.dtype is not dt.int64:
        raise RuntimeError(f"expected scalar type Long but found {_scalar_name(target.dtype)}")
    cd = L.class_dim(input)
    if cd and target.ndim and input.shape[0] != target.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({target.shape[0]}).")
    if target.shape != input.shape[:cd] + input.shape[cd + 1:]:
        raise RuntimeError(f"size mismatch (got input: [{', '.join(map(str, input.shape))}] , target: "
                           f"[{', '.join(map(str, target.shape))}]")
    if not target.is_cuda:
        _check_classes(target, input.shape[cd], ignore_index)
    if weight is not None and weight.dtype is not input.dtype:
        weight = weight.to(input.dtype)
    return L.NllLoss.apply(input, target, weight, reduction, ignore_index)


def _check_classes(target, n_classes, ignore_index):
    """PyTorch's error for a class index out of range (CPU only: on CUDA it would cost a sync)."""
    t = target.numpy()
    bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(f"Target {t[bad].flat[0]} is out of bounds.")


def _scalar_name(dtype):
    return {"int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool", "float32": "Float",
            "float64": "Double", "float16": "Half", "bfloat16": "BFloat16"}.get(dtype.name, dtype.name)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """nll_loss(log_softmax(input, 1), target): input holds unnormalized scores (N, C, d...) or (C,).

    `target` holds class indices (int64, shape (N, d...)) or class probabilities (float, input's
    shape). log_softmax runs as one fused kernel on CUDA, forward and backward.
    """
    _check_reduction(reduction, size_average, reduce)
    _check_target(input, target, weight)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    logp = log_softmax(input, 1 if input.ndim > 1 else 0)
    if target.dtype.is_floating_point:
        return _soft_cross_entropy(logp, target, weight, reduction, label_smoothing)
    loss = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if not label_smoothing:
        return loss
    return (1 - label_smoothing) * loss + _smooth_term(logp, target, weight, ignore_index, reduction, label_smoothing)


def _smooth_term(logp, target, weight, ignore_index, reduction, eps):
    """PyTorch's label-smoothing term: eps / C * -sum_c(weight_c * logp_c), masked and reduced like nll."""
    cd = L.class_dim(logp)
    n_classes = logp.shape[cd]
    if weight is not None:
        shape = (1,) * cd + (n_classes,) + (1,) * (logp.ndim - cd - 1)
        smooth = -(logp * weight.to(logp.dtype).reshape(shape)).sum(cd)
    else:
        smooth = -logp.sum(cd)
    keep = target != ignore_index
    smooth = smooth * keep.to(smooth.dtype)
    if reduction == "none":
        out = smooth
    elif reduction == "sum":
        out = smooth.sum()
    else:
        denom = Tensor._make(L.class_mask(logp, target, weight, ignore_index)).sum() if weight is not None \
            else keep.sum().to(smooth.dtype)
        out = smooth.sum() / denom
    return out * (eps / n_classes)


def _soft_cross_entropy(logp, target, weight, reduction, eps):
    """Cross entropy with class probabilities as targets."""
    if target.shape != logp.shape:
        raise RuntimeError(f"Expected target size [{', '.join(map(str, logp.shape))}], got "
                           f"[{', '.join(map(str, target.shape))}]")
    cdim = 1 if logp.ndim > 1 else 0
    n_classes = logp.shape[cdim]
    if eps:
        target = target * (1 - eps) + eps / n_classes
    terms = logp * target.to(logp.dtype)
    if weight is not None:
        terms = terms * weight.to(logp.dtype).reshape((n_classes,) + (1,) * (logp.ndim - cdim - 1))
    loss = -terms.sum(cdim)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / (logp.numel() // n_classes)  # NOTE: PyTorch's mean: over all but the class dim


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """(input - target) ** 2, reduced ('mean' by default); target broadcasts, with PyTorch's warning."""
    _check_reduction(reduction, size_average, reduce)
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
                      "This will likely lead to incorrect results due to broadcasting. Please ensure they have the "
                      "same size.", UserWarning, stacklevel=2)
    check_device(input, target)
    rt = result_type(input, target)
    return L.MseLoss.apply(input.to(rt), target.to(rt), reduction)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the others by 1 / (1 - p) (when training)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    from .._creation import rand

    keep = rand(input.shape, dtype=input.dtype, device=input.device) >= p
    mask = keep.to(input.dtype) * (1.0 / (1.0 - p) if p < 1.0 else 0.0)
    return input.mul_(mask) if inplace else input * mask


__all__ = ["relu", "sigmoid", "tanh", "linear", "log_softmax", "softmax", "nll_loss", "cross_entropy", "mse_loss",
           "dropout"]

from ..ops.nn import embedding, layer_norm, scaled_dot_product_attention  # noqa: E402,F401  NOTE: rows in ops/nn.py

__all__ += ["gelu", "embedding", "layer_norm", "scaled_dot_product_attention"]

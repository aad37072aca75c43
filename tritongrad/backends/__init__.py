"""Backends: one list of primitives, implemented by cpu.py (NumPy) and cuda.py (Triton kernels).

A Tensor holds a backend array: an np.ndarray on the CPU, a tritongrad.cuda.DeviceArray on CUDA.
Ops (tritongrad/ops) call these primitives and never touch arrays otherwise. The list:

  creation   empty(shape, dtype) full(shape, value, dtype) arange(start, end, step, dtype)
             from_numpy(host_array) to_numpy(a) rand(shape, dtype, gen) randn(shape, dtype, gen)
  views      view(a, shape) -> view or None, permute(a, dims), expand(a, shape), index(a, idx),
             is_contiguous(a), contiguous(a), astype(a, dtype); broadcast(a, shape) -> expand's
             view or a new array, to be read only (a reduction's gradient)
  compute    unary(op, a), binary(op, a, b, alpha=1), rbinary(op, scalar, a), where(c, a, b),
             clamp(a, lo, hi), reduce(op, a, dims, keepdim), arg_reduce(op, a, dim, keepdim),
             matmul(a, b)
  backward   threshold_backward(g, x, t), clamp_backward(g, x, lo, hi), pow_backward(g, x, n),
             sigmoid_backward(g, y), tanh_backward(g, y), index_backward(g, shape, idx, dtype)
  in place   binary_(op, out, b, alpha=1), fill_(a, value), copy_(dst, src)
  softmax    softmax(a, dim), log_softmax(a, dim), softmax_backward(g, y, dim),
             log_softmax_backward(g, y, dim)   (row-wise, fused: kernels/loss.py on CUDA)
  optimizers sgd_step(p, g, buf, lr, momentum, dampening, nesterov, weight_decay, maximize, first),
             adam_step(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps,
                       weight_decay, decoupled, amsgrad, maximize)   (in place, one fused pass:
             kernels/optim.py on CUDA; `dim` arguments are non-negative)

`dtype` arguments are tritongrad dtypes; compute primitives get operands that already share one
dtype (promotion happens in ops), and scalars as Python numbers. `cpu.py` documents each one.
"""
from . import cuda_index  # noqa: F401  NOTE: sets the indexing primitives on CUDABackend
from .cpu import CPUBackend
from .cuda import CUDABackend  # NOTE: cheap, Triton loads on first use; makes tg.backends.cuda.matmul exist

_BACKENDS = {"cpu": CPUBackend, "cuda": CUDABackend}


def get(device_type):
    """The backend for a device type ('cpu' or 'cuda')."""
    try:
        return _BACKENDS[device_type]
    except KeyError:
        raise RuntimeError(f"unknown device type {device_type!r}") from None

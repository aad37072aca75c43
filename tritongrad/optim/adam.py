"""Adam and AdamW (torch.optim.Adam, torch.optim.AdamW)."""
from .. import _dtype as dt
from .._creation import tensor, zeros_like
from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam, as PyTorch computes it (weight decay added to the gradient; AdamW decouples it):

        d = ±grad + weight_decay * p
        m = beta1 * m + (1 - beta1) * d;   v = beta2 * v + (1 - beta2) * d * d;   (amsgrad: vmax = max(vmax, v))
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    One fused kernel per parameter on CUDA.

    Example:
        >>> opt = tg.optim.Adam(model.parameters(), lr=1e-3)
    """

    _decoupled = False
    _state_buffers = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        if not 0.0 <= lr:  # NOTE: PyTorch's comparisons, so that lr="a" raises PyTorch's TypeError
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if capturable or differentiable:
            raise NotImplementedError(f"{type(self).__name__}(capturable=True / differentiable=True) is not supported "
                                      "by tritongrad")
        # NOTE: foreach / fused are accepted for compatibility: the CUDA step is always one fused kernel
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _integral_error(self, dtype):
        if self._decoupled:  # NOTE: PyTorch's AdamW fails earlier, in its weight-decay multiply
            return super()._integral_error(dtype)
        return NotImplementedError(f"\"lerp_kernel_scalar\" not implemented for "
                                   f"'{dt.TYPE_NAMES[dtype.name].removesuffix('Tensor')}'")

    def _step_param(self, group, p, state):
        amsgrad = group["amsgrad"]
        if not state:
            # NOTE: step is a CPU float32 tensor as in PyTorch's state_dict; the count stays on the host
            state["step"] = tensor(0.0, dtype=dt.float32)
            state["exp_avg"] = zeros_like(p)
            state["exp_avg_sq"] = zeros_like(p)
            if amsgrad:
                state["max_exp_avg_sq"] = zeros_like(p)
        step_t = state["step"]
        step_t.add_(1)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        vmax = state.get("max_exp_avg_sq") if amsgrad else None
        if amsgrad and vmax is None:
            vmax = state["max_exp_avg_sq"] = zeros_like(p)
        beta1, beta2 = group["betas"]
        p._be.adam_step(p._data, p.grad._data, m._data, v._data, None if vmax is None else vmax._data,
                        step_t.item(), group["lr"], beta1, beta2, group["eps"], group["weight_decay"], self._decoupled,
                        amsgrad, group["maximize"])
        for t in (p, m, v) if vmax is None else (p, m, v, vmax):
            t._vc[0] += 1


class AdamW(Adam):
    """Adam with decoupled weight decay: p = p * (1 - lr * weight_decay) before the Adam update."""

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, foreach=foreach,
                         capturable=capturable, differentiable=differentiable, fused=fused)

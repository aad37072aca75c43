"""RMSprop (torch.optim.RMSprop)."""
from .._creation import zeros_like
from .optimizer import Optimizer, addcdiv_, addcmul_, decayed_grad, lerp_, new_step


class RMSprop(Optimizer):
    """RMSprop, as PyTorch computes it:

        d = ±grad + weight_decay * p
        v = alpha * v + (1 - alpha) * d * d
        avg = sqrt(v - g_avg**2) + eps, g_avg = lerp(g_avg, d, 1 - alpha)   (centered)
              sqrt(v) + eps                                                  (otherwise)
        buf = momentum * buf + d / avg;  p = p - lr * buf      (momentum > 0)
        p = p - lr * d / avg                                   (otherwise)

    Example:
        >>> opt = tg.optim.RMSprop(model.parameters(), lr=1e-2, momentum=0.9)
    """

    _state_buffers = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        if capturable or differentiable:
            raise NotImplementedError("RMSprop(capturable=True / differentiable=True) is not supported by tritongrad")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _step_param(self, group, p, state):
        momentum, alpha = group["momentum"], group["alpha"]
        if not state:
            state["step"] = new_step()
            state["square_avg"] = zeros_like(p)
            if momentum > 0:
                state["momentum_buffer"] = zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = zeros_like(p)
        state["step"].add_(1)
        grad = decayed_grad(group, p)
        square_avg = addcmul_(state["square_avg"].mul_(alpha), grad, grad, 1 - alpha)
        if group["centered"]:
            grad_avg = lerp_(state["grad_avg"], grad, 1 - alpha)
            avg = (square_avg + grad_avg * -1 * grad_avg).sqrt()
        else:
            avg = square_avg.sqrt()
        avg = avg.add_(group["eps"])
        if momentum > 0:
            buf = addcdiv_(state["momentum_buffer"].mul_(momentum), grad, avg)
            p.add_(buf, alpha=-group["lr"])
        else:
            addcdiv_(p, grad, avg, -group["lr"])

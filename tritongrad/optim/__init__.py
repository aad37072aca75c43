"""tritongrad.optim: SGD, Adam and AdamW with PyTorch's names and update rules; on CUDA each step
is one fused Triton kernel per parameter (kernels/optim.py).

Example:
    >>> opt = tg.optim.AdamW(model.parameters(), lr=1e-3)
    >>> for x, y in batches:
    ...     opt.zero_grad()
    ...     loss_fn(model(x), y).backward()
    ...     opt.step()
"""
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW"]

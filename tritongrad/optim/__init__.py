"""tritongrad.optim: SGD, Adam, AdamW, RMSprop, Adagrad and Adadelta with PyTorch's names and update
rules, and optim.lr_scheduler; on CUDA each SGD/Adam/AdamW step is one fused Triton kernel per
parameter (kernels/optim.py), the others a few elementwise kernels.

Example:
    >>> opt = tg.optim.AdamW(model.parameters(), lr=1e-3)
    >>> for x, y in batches:
    ...     opt.zero_grad()
    ...     loss_fn(model(x), y).backward()
    ...     opt.step()
"""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "lr_scheduler"]

"""tritongrad.nn: modules, parameters, losses and their functional forms, with PyTorch's names.

Example:
    >>> from tritongrad import nn
    >>> model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    >>> loss = nn.CrossEntropyLoss()(model(x), labels)
"""
from . import functional, init, parallel, utils  # noqa: I001
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from .parameter import Parameter

__all__ = [*_modules_all, "Parameter", "functional", "init", "parallel", "utils"]

"""tritongrad.nn: modules, parameters, losses and their functional forms, with PyTorch's names.

Example:
    >>> from tritongrad import nn
    >>> model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    >>> loss = nn.CrossEntropyLoss()(model(x), labels)
"""
from . import functional, init, parallel  # noqa: I001
from .modules import (CrossEntropyLoss, Dropout, Flatten, Identity, Linear, LogSoftmax, Module, MSELoss, NLLLoss,
                      ReLU, Sequential, Sigmoid, Softmax, Tanh)
from .parameter import Parameter

__all__ = ["Module", "Parameter", "Linear", "Identity", "Flatten", "ReLU", "Sigmoid", "Tanh", "Softmax",
           "LogSoftmax", "Sequential", "Dropout", "MSELoss", "CrossEntropyLoss", "NLLLoss", "functional", "init",
           "parallel"]
from .modules import GELU, Embedding, LayerNorm  # noqa: E402  NOTE: the transformer layers (issue 16)

__all__ += ["GELU", "LayerNorm", "Embedding"]

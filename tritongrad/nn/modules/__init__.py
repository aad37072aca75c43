"""The layers and losses of tritongrad.nn."""
from .activation import LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .container import Sequential
from .dropout import Dropout
from .linear import Flatten, Identity, Linear
from .loss import CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module

__all__ = ["Module", "Linear", "Identity", "Flatten", "ReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
           "Sequential", "Dropout", "MSELoss", "CrossEntropyLoss", "NLLLoss"]
from .activation import GELU  # noqa: E402  NOTE: the transformer layers (issue 16), kept apart for merges
from .normalization import LayerNorm  # noqa: E402
from .sparse import Embedding  # noqa: E402

__all__ += ["GELU", "LayerNorm", "Embedding"]

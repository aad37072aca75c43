"""The layers and losses of tritongrad.nn."""
from .activation import ELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh
from .batchnorm import BatchNorm1d
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .dropout import Dropout
from .linear import Flatten, Identity, Linear, Unflatten
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss
from .module import Module

__all__ = ["Module", "Linear", "Identity", "Flatten", "Unflatten", "ReLU", "Sigmoid", "Tanh", "SiLU", "LeakyReLU",
           "ELU", "Softplus", "Softmax", "LogSoftmax", "BatchNorm1d", "Sequential", "ModuleList", "ModuleDict",
           "ParameterList", "ParameterDict", "Dropout", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss",
           "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss"]
from .activation import GELU  # noqa: E402  NOTE: the transformer layers (issue 16), kept apart for merges
from .normalization import LayerNorm  # noqa: E402
from .sparse import Embedding  # noqa: E402

__all__ += ["GELU", "LayerNorm", "Embedding"]

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

"""tritongrad.utils: data loading (tritongrad.utils.data), as torch.utils."""
from . import data

__all__ = ["data"]

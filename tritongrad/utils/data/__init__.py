"""tritongrad.utils.data (the part issue 18 adds: DistributedSampler)."""
from .distributed import DistributedSampler

__all__ = ["DistributedSampler"]

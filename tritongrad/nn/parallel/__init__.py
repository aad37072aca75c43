"""tritongrad.nn.parallel: data parallelism across processes (see tritongrad.distributed)."""
from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]

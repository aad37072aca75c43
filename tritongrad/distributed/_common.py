"""What the MPI and NCCL backends share: ReduceOp, the Work handle, the errors, host staging."""
import enum
import time
from datetime import timedelta

import numpy as np

# NOTE: torch.distributed's default for the process group (the NCCL one is 10 minutes)
default_pg_timeout = timedelta(minutes=30)


class DistError(RuntimeError):
    """An error in a distributed operation (torch.distributed.DistError)."""

    __module__ = "tritongrad.distributed"


class DistBackendError(DistError):
    """A collective failed or timed out: another rank raised, died, or never joined it."""

    __module__ = "tritongrad.distributed"


class ReduceOp(enum.Enum):
    """How all_reduce, reduce and reduce_scatter_tensor combine the ranks' values (PyTorch's values)."""

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4

    def __repr__(self):  # PyTorch's: <RedOpType.SUM: 0>
        return f"<RedOpType.{self.name}: {self.value}>"

    def __str__(self):
        return f"RedOpType.{self.name}"


class Work:
    """What a collective called with async_op=True returns (torch.distributed.Work).

    `wait()` blocks until the result is in the output tensors (then runs the steps that finish
    the operation on this side: dividing for AVG, copying staged host memory back to the device,
    unpacking a list); `is_completed()` asks without blocking.
    """

    __slots__ = ("_wait", "_test", "_then", "_done", "result")

    def __init__(self, wait=None, test=None, then=()):
        self._wait, self._test, self._then = wait, test, list(then)
        self._done = wait is None and not self._then
        self.result = None  # recv(src=None): the rank that sent

    def then(self, step):
        """Run step() once the transfer has finished, before wait() returns."""
        self._then.append(step)
        self._done = False
        return self

    def wait(self, timeout=None):
        if not self._done:
            if self._wait is not None:
                self._wait(timeout)
                self._wait = None
            steps, self._then = self._then, []
            for step in steps:
                step()
            self._done = True
        return True

    def is_completed(self):
        if not self._done and (self._test is None or self._test()):
            self.wait()
        return self._done


def seconds(timeout):
    """A timedelta or a number of seconds, as seconds."""
    return timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)


def poll(test, timeout, on_idle, what):
    """Call test() until it returns True; on_idle() (which may raise) between tries.

    Spins for the first millisecond (a small collective finishes in microseconds), then sleeps
    50 us between tries so that a waiting rank leaves the core to the ranks it waits for.
    Raises DistBackendError after `timeout` seconds.
    """
    start = time.monotonic()
    tries = 0
    on_idle()  # NOTE: first: once a rank has failed, the group is broken even if this operation could finish
    while not test():
        on_idle()
        tries += 1
        if tries > 1000:
            now = time.monotonic()
            if now - start > timeout:
                raise DistBackendError(f"{what} did not complete within {timeout:g} s (the process group's "
                                       "timeout): another rank failed, exited or did not call it")
            time.sleep(5e-5)


def host_array(t, write):
    """A contiguous host ndarray holding tensor t's values, and a step that copies it back into t.

    On the CPU it is t's own memory (MPI reads and writes it in place) and the step is None;
    CUDA tensors (MPI is used as if not CUDA-aware) and float16/bfloat16 (MPI's standard has no
    16-bit float type) are staged through a host copy, the 16-bit ones as float32: exact for
    transfers, and reductions are computed in float32 and rounded once.
    """
    staged = t.device.type != "cpu" or t.dtype.name in ("float16", "bfloat16")
    if not staged:
        return t.detach().numpy(), None
    src = t.detach()
    if t.dtype.name in ("float16", "bfloat16"):
        src = src.float()
    arr = np.ascontiguousarray(src.cpu().numpy())
    if not write:
        return arr, None
    from .._creation import from_numpy

    return arr, lambda: t.detach().copy_(from_numpy(arr))

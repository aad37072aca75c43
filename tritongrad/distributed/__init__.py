"""tritongrad.distributed: collectives across processes, with torch.distributed's names and semantics.

Backends (we build on these engines, with no transport of our own):
    "mpi"   mpi4py over the MPI library installed (`pip install 'tritongrad[mpi]'` brings mpi4py and
            the mpich wheel); CPU tensors in place, CUDA tensors staged through host memory.
            Start the processes with mpiexec, or with `python -m tritongrad.distributed.run`.
    "nccl"  NVIDIA's NCCL (`pip install 'tritongrad[nccl-cu13]'`), CUDA tensors, on tritongrad's
            stream; one process per GPU; the unique id goes from rank 0 to the others through
            init_method (env://, tcp:// or file://).

Example (run with `python -m tritongrad.distributed.run --nproc-per-node 2 script.py`):
    >>> import tritongrad as tg, tritongrad.distributed as dist
    >>> dist.init_process_group("mpi")
    >>> t = tg.ones(3) * (dist.get_rank() + 1)
    >>> dist.all_reduce(t)              # t == 3 on both ranks
    >>> dist.destroy_process_group()

Failures (MPI): an uncaught exception on one rank makes the others raise DistBackendError naming
that rank and its error from the collective they wait in; a rank that never arrives makes them raise
DistBackendError after init_process_group's timeout. Nothing waits forever.

Importing this module imports neither mpi4py nor NCCL: init_process_group loads the backend.
"""
import pickle

from ._common import DistBackendError, DistError, ReduceOp, Work, default_pg_timeout

_group = None  # the default process group: a backend object (rank, size and the collectives)


def is_available():
    return True


def is_initialized():
    return _group is not None


def is_mpi_available():
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1):
    """Join the default process group (torch.distributed.init_process_group).

    Args:
        backend: "mpi" or "nccl" (None: "nccl" when CUDA is available, else "mpi").
        init_method: rendezvous URL for nccl: "env://" (default), "tcp://host:port", "file:///path".
            MPI learns ranks from its launcher; rank/world_size, if given, must agree with it.
        timeout: how long a collective may wait for the other ranks (timedelta; default 30 minutes)
            before it raises DistBackendError.
    """
    global _group
    if _group is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if backend is None:
        from .. import cuda

        backend = "nccl" if cuda.is_available() and not cuda.is_emulated() else "mpi"
    backend = str(backend).lower()
    timeout = default_pg_timeout if timeout is None else timeout
    if backend == "mpi":
        from ._mpi import MPIBackend

        group = MPIBackend(timeout)
        for name, given, actual in (("world_size", world_size, group.size), ("rank", rank, group.rank)):
            if given not in (-1, actual):
                group.close()
                raise ValueError(f"init_process_group: {name}={given}, but MPI started this process with "
                                 f"{name}={actual}")
    elif backend == "nccl":
        from ._common import seconds
        from ._nccl import NCCLBackend
        from ._rendezvous import resolve

        rank, world_size, share = resolve(init_method, world_size, rank)
        group = NCCLBackend(rank, world_size, share, seconds(timeout))
    else:
        raise ValueError(f"Unknown backend type {backend!r}: tritongrad.distributed has 'mpi' and 'nccl'")
    _group = group


def destroy_process_group(group=None):
    global _group
    if _group is not None:
        _group.close()
        _group = None


def _default(group=None):
    if group is not None:
        raise NotImplementedError("tritongrad.distributed has the default process group only (group=None)")
    if _group is None:
        raise ValueError("Default process group has not been initialized, please make sure to call "
                         "init_process_group.")
    return _group


def get_rank(group=None):
    return _default(group).rank


def get_world_size(group=None):
    return _default(group).size


def get_backend(group=None):
    return _default(group).name


# --- argument checks (before anything is sent) --------------------------------------------------------------
def _tensor(t, name="tensor"):
    from ..tensor import Tensor

    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type tritongrad.Tensor\n"
                        f"             but got {type(t)} instead.")
    if not t.is_contiguous():
        raise ValueError("Tensors must be contiguous")
    return t.detach()  # NOTE: collectives write in place, outside autograd (as in PyTorch)


def _rank_arg(r, what):
    g = _default()
    if not isinstance(r, int) or not 0 <= r < g.size:
        raise ValueError(f"Invalid {what} rank: {r} (the world size is {g.size})")
    return r


def _op(op, t):
    if not isinstance(op, ReduceOp):
        raise TypeError(f"op must be a tritongrad.distributed.ReduceOp, got {op!r}")
    if op is ReduceOp.AVG and not t.is_floating_point():
        raise ValueError(f"ReduceOp.AVG needs a floating-point tensor, got {t.dtype}")
    return op


def _same(a, b, what):
    if a.dtype != b.dtype or a.device != b.device:
        raise ValueError(f"{what}: the tensors must share dtype and device, got {a.dtype} on {a.device} and "
                         f"{b.dtype} on {b.device}")


def _list(tensors, like, what):
    g = _default()
    if not isinstance(tensors, (list, tuple)) or len(tensors) != g.size:
        n = len(tensors) if isinstance(tensors, (list, tuple)) else type(tensors).__name__
        raise ValueError(f"{what}: expected a list of {g.size} tensors (one per rank), got {n}")
    for i, t in enumerate(tensors):
        _tensor(t, f"{what}[{i}]")
        _same(t, like, what)
        if t.shape != like.shape:
            raise ValueError(f"{what}: tensor {i} has shape {tuple(t.shape)}, expected {tuple(like.shape)}")
    return [t.detach() for t in tensors]


def _done(work, async_op):
    if async_op:
        return work
    work.wait()
    return None


def _flat_like(t, n):
    from .._creation import empty

    return empty(n * t.numel(), dtype=t.dtype, device=t.device)


def _unpack(flat, tensors):
    """A step copying the chunks of flat into the tensors of a list."""
    def step():
        for chunk, t in zip(flat.view(len(tensors), -1), tensors):
            t.view(-1).copy_(chunk)
    return step


# --- collectives --------------------------------------------------------------------------------------------
def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine `tensor` across ranks with `op`; every rank gets the result in `tensor`."""
    t = _tensor(tensor)
    return _done(_default(group).all_reduce(t, _op(op, t)), async_op)


def broadcast(tensor, src, group=None, async_op=False):
    """Copy rank `src`'s `tensor` into `tensor` on every rank."""
    t = _tensor(tensor)
    return _done(_default(group).broadcast(t, _rank_arg(src, "source")), async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """output_tensor (world_size * n elements) = every rank's input_tensor (n elements), in rank order."""
    out, t = _tensor(output_tensor, "output_tensor"), _tensor(input_tensor, "input_tensor")
    _same(out, t, "all_gather_into_tensor")
    if out.numel() != t.numel() * _default(group).size:
        raise ValueError(f"all_gather_into_tensor: output_tensor has {out.numel()} elements, expected world size "
                         f"x {t.numel()} = {t.numel() * _default().size}")
    return _done(_default().all_gather_into(out, t), async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """tensor_list[r] = rank r's tensor, on every rank."""
    t = _tensor(tensor)
    outs = _list(tensor_list, t, "all_gather")
    flat = _flat_like(t, len(outs))
    return _done(_default(group).all_gather_into(flat, t).then(_unpack(flat, outs)), async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine `input` (world_size * n elements) across ranks; rank r gets chunk r of the result in `output`."""
    out, t = _tensor(output, "output"), _tensor(input, "input")
    _same(out, t, "reduce_scatter_tensor")
    if t.numel() != out.numel() * _default(group).size:
        raise ValueError(f"reduce_scatter_tensor: input has {t.numel()} elements, expected world size x "
                         f"{out.numel()} = {out.numel() * _default().size}")
    return _done(_default().reduce_scatter(out, t, _op(op, t)), async_op)


def reduce(tensor, dst, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine `tensor` across ranks with `op` into rank `dst`'s `tensor` (the others' are left as they are)."""
    t = _tensor(tensor)
    return _done(_default(group).reduce(t, _rank_arg(dst, "destination"), _op(op, t)), async_op)


def gather(tensor, gather_list=None, dst=0, group=None, async_op=False):
    """On rank `dst`, gather_list[r] = rank r's tensor; the other ranks pass no list."""
    t, g = _tensor(tensor), _default(group)
    if _rank_arg(dst, "destination") == g.rank:
        outs = _list(gather_list, t, "gather")
        flat = _flat_like(t, g.size)
        return _done(g.gather(flat, t, dst).then(_unpack(flat, outs)), async_op)
    if gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    return _done(g.gather(None, t, dst), async_op)


def scatter(tensor, scatter_list=None, src=0, group=None, async_op=False):
    """tensor = rank `src`'s scatter_list[r] on each rank r; the other ranks pass no list."""
    t, g = _tensor(tensor), _default(group)
    if _rank_arg(src, "source") == g.rank:
        ins = _list(scatter_list, t, "scatter")
        flat = _flat_like(t, g.size)
        for chunk, x in zip(flat.view(g.size, -1), ins):
            chunk.copy_(x.reshape(-1))
        return _done(g.scatter(t, flat, src), async_op)
    if scatter_list:
        raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
    return _done(g.scatter(t, None, src), async_op)


def _peer(r, what):
    if _rank_arg(r, what) == _default().rank:
        raise ValueError(f"Invalid {what} rank: {what} rank should not be the same as the rank of the current "
                         "process.")
    return r


def isend(tensor, dst, group=None, tag=0):
    return _default(group).send(_tensor(tensor), _peer(dst, "destination"), tag)


def irecv(tensor, src=None, group=None, tag=0):
    return _default(group).recv(_tensor(tensor), None if src is None else _peer(src, "source"), tag)


def send(tensor, dst, group=None, tag=0):
    """Send `tensor` to rank `dst` (blocks until it has gone)."""
    isend(tensor, dst, group, tag).wait()


def recv(tensor, src=None, group=None, tag=0):
    """Receive into `tensor` from rank `src` (None: any rank); returns the sender's rank."""
    work = irecv(tensor, src, group, tag)
    work.wait()
    return work.result


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank has reached this call."""
    return _done(_default(group).barrier(), async_op)


def broadcast_object_list(object_list, src=0, group=None, device=None):
    """Replace the objects of `object_list` on every rank by rank `src`'s (pickled; trust your ranks)."""
    import numpy as np

    from .._creation import from_numpy, zeros
    from .._dtype import int64, uint8

    g = _default(group)
    device = device or ("cuda" if g.name == "nccl" else "cpu")
    if _rank_arg(src, "source") == g.rank:
        payloads = [np.frombuffer(pickle.dumps(obj), dtype=np.uint8) for obj in object_list]
        sizes = from_numpy(np.array([len(p) for p in payloads], dtype=np.int64)).to(device)
    else:
        sizes = zeros(len(object_list), dtype=int64, device=device)
    broadcast(sizes, src)
    lengths = sizes.tolist()
    if g.rank == src:
        data = from_numpy(np.concatenate(payloads) if payloads else np.zeros(0, np.uint8)).to(device)
    else:
        data = zeros(sum(lengths), dtype=uint8, device=device)
    broadcast(data, src)
    if g.rank != src:
        raw, start = data.cpu().numpy().tobytes(), 0
        for i, n in enumerate(lengths):
            object_list[i] = pickle.loads(raw[start:start + n])
            start += n


__all__ = ["DistBackendError", "DistError", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor", "all_reduce",
           "barrier", "broadcast", "broadcast_object_list", "destroy_process_group", "gather", "get_backend",
           "get_rank", "get_world_size", "init_process_group", "irecv", "is_available", "is_initialized",
           "is_mpi_available", "isend", "recv", "reduce", "reduce_scatter_tensor", "scatter", "send"]

"""DistributedDataParallel: one replica of a module per process; gradients averaged across processes,
the all-reduces overlapped with backward (PyTorch's design, docs/notes/ddp.rst).

- Construction broadcasts rank 0's parameters and buffers, after checking that every rank has the
  same parameter names, shapes and dtypes (a mismatch would otherwise garble or deadlock).
- Parameters are grouped into buckets in reverse order of `parameters()` (the order in which
  backward produces their gradients), per dtype and device: the first bucket holds up to 1 MiB
  (so the first all-reduce starts early), the others up to `bucket_cap_mb`.
- A post-accumulate-grad hook per parameter marks its gradient ready. When every gradient of a
  bucket is ready, the bucket's gradients are copied into one flat buffer and an asynchronous
  all-reduce (ReduceOp.AVG) of it starts while backward goes on computing earlier layers. Buckets
  start in index order only (bucket k waits for bucket k-1 to start), so every rank issues the
  same collectives in the same order, whatever order its gradients come in.
- The wait: the hook that starts the last bucket waits for all of them and copies the averages
  back into each `.grad`, so every `.grad` is final when `backward()` returns, before an optimizer
  can read it. (PyTorch queues this on the autograd engine's final callback; tritongrad's engine
  has none, and the last bucket to start is the end of this module's part of backward.)
- `no_sync()`: forwards inside it set up no reduction, so gradients accumulate locally; the first
  backward outside it averages the accumulated gradients.
- Unused parameters: with find_unused_parameters=True, forward walks the autograd graph from the
  outputs and marks the parameters it cannot reach as ready at once (a parameter nobody used keeps
  its `.grad`; one used on some ranks gets the average, zeros counting for the others). Without it,
  a parameter that gets no gradient leaves its bucket waiting, and the next forward raises
  PyTorch's error naming the parameter.
"""
import contextlib
import functools

from ... import distributed as dist
from ...autograd import is_grad_enabled, no_grad
from ...tensor import Tensor
from ..modules import Module

_FIRST_BUCKET_BYTES = 1024 * 1024  # PyTorch's dist._DEFAULT_FIRST_BUCKET_BYTES


class _Bucket:
    """Parameters (by index) reduced together through one flat buffer."""

    def __init__(self, indices, params):
        from ... import zeros

        self.indices = indices
        self.offsets, n = [], 0
        for i in indices:
            self.offsets.append(n)
            n += params[i].numel()
        p = params[indices[0]]
        self.flat = zeros(n, dtype=p.dtype, device=p.device)
        self.pending = len(indices)
        self.work = None


def assign_buckets(params, cap_bytes, first_bytes=_FIRST_BUCKET_BYTES):
    """Lists of parameter indices, in reverse parameter order, one bucket per dtype and device at a time:
    a bucket closes when it holds `first_bytes` (the first of its kind) or `cap_bytes` (the others)."""
    closed, open_, count = [], {}, {}
    for i in reversed(range(len(params))):
        p = params[i]
        key = (p.dtype, str(p.device))
        indices, size = open_.get(key, ([], 0))
        indices.append(i)
        size += p.numel() * p.element_size()
        limit = min(first_bytes, cap_bytes) if count.get(key, 0) == 0 else cap_bytes
        if size >= limit:
            closed.append(indices)
            count[key] = count.get(key, 0) + 1
            open_.pop(key, None)
        else:
            open_[key] = (indices, size)
    buckets = closed + [indices for indices, _ in open_.values()]
    return sorted(buckets, key=lambda b: -b[0])  # NOTE: by first gradient expected, as PyTorch orders them


def _tensors(obj):
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            yield from _tensors(x)
    elif isinstance(obj, dict):
        for x in obj.values():
            yield from _tensors(x)


def _reachable_leaves(outputs):
    """ids of the leaf tensors whose gradient backward from `outputs` can reach."""
    found, seen = set(), set()
    stack = []
    for t in _tensors(outputs):
        if t.grad_fn is None:
            found.add(id(t))
        else:
            stack.append(t.grad_fn)
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)  # NOTE: AccumulateGrad nodes hold their leaf
        if variable is not None:
            found.add(id(variable))
        stack.extend(n for n, _ in node.next_functions)
    return found


class DistributedDataParallel(Module):
    """Data parallelism across processes (torch.nn.parallel.DistributedDataParallel).

    Args:
        module: the model, the same on every rank (rank 0's values are copied to the others).
        broadcast_buffers: copy rank 0's buffers to the others before each forward.
        bucket_cap_mb: most MiB of gradients per all-reduce (default 25).
        find_unused_parameters: look for parameters the forward did not use (a graph walk per forward).
        device_ids, output_device, dim, check_reduction, static_graph: accepted for PyTorch's signature,
            without effect (one device per process; inputs are used where they are).

    Example:
        >>> dist.init_process_group("mpi")
        >>> model = DistributedDataParallel(nn.Linear(10, 1))
        >>> model(x).sum().backward()      # .grad holds the average over the ranks
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        if process_group is not None:
            raise NotImplementedError("DistributedDataParallel: only the default process group (process_group=None)")
        if gradient_as_bucket_view:
            raise NotImplementedError("DistributedDataParallel: gradient_as_bucket_view=True is not implemented")
        self.world_size = dist.get_world_size()  # NOTE: raises PyTorch's error when there is no process group
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self._names = [n for n, _ in named]
        self._params = [p for _, p in named]
        self._check_same_parameters()
        with no_grad():
            for t in [*module.parameters(), *module.buffers()]:
                dist.broadcast(t, 0)
        cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        self._buckets = [_Bucket(b, self._params) for b in assign_buckets(self._params, cap, _FIRST_BUCKET_BYTES)]
        self._bucket_of = {}
        for k, b in enumerate(self._buckets):
            for i in b.indices:
                self._bucket_of[i] = k
        self._ready = None  # per iteration that reduces: which parameters have their gradient; None otherwise
        self._hooks = [p.register_post_accumulate_grad_hook(functools.partial(self._on_grad, i))
                       for i, p in enumerate(self._params)]

    def _check_same_parameters(self):
        mine = [(n, tuple(p.shape), str(p.dtype)) for n, p in zip(self._names, self._params)]
        theirs = [mine]
        dist.broadcast_object_list(theirs, src=0)
        if theirs[0] != mine:
            diff = next((f"{a} here, {b} on rank 0" for a, b in zip(mine, theirs[0]) if a != b),
                        f"{len(mine)} parameters here, {len(theirs[0])} on rank 0")
            raise RuntimeError(f"DDP expects same model across all ranks, but rank {dist.get_rank()} differs from "
                               f"rank 0: {diff}")

    # --- forward: set up the iteration's reduction ----------------------------------------------------
    def forward(self, *inputs, **kwargs):
        if self.broadcast_buffers:
            with no_grad():
                for b in self.module.buffers():
                    dist.broadcast(b, 0)
        output = self.module(*inputs, **kwargs)
        if is_grad_enabled() and self.require_backward_grad_sync:
            self._prepare(output)
        return output

    def _prepare(self, output):
        if self._ready is not None and self._backward_began:
            missing = [n for n, r in zip(self._names, self._ready) if not r]
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a new one. This error "
                "indicates that your module has parameters that were not used in producing loss. You can enable "
                "unused parameter detection by passing the keyword argument `find_unused_parameters=True` to "
                "`tritongrad.nn.parallel.DistributedDataParallel`, and by making sure all `forward` function outputs "
                f"participate in calculating loss.\nParameters which did not receive grad for rank "
                f"{dist.get_rank()}: {', '.join(missing)}")
        self._ready = [False] * len(self._params)
        self._backward_began = False
        self._next = 0
        for b in self._buckets:
            b.pending, b.work = len(b.indices), None
        if self.find_unused_parameters:
            reached = _reachable_leaves(output)
            for i, p in enumerate(self._params):
                if id(p) not in reached:
                    self._mark_ready(i)

    # --- backward: hooks start the buckets; the last one waits for all ----------------------------------
    def _on_grad(self, i, param):
        if self._ready is None:
            return  # NOTE: an iteration set up with no reduction (no_sync, or backward of another graph)
        if self._ready[i]:
            raise RuntimeError(f"Expected to mark a variable ready only once. This error is caused by parameter "
                               f"{self._names[i]} getting its gradient twice in one iteration: a second backward "
                               "through the same forward, or a parameter shared outside the module's forward.")
        self._backward_began = True
        self._mark_ready(i)

    def _mark_ready(self, i):
        self._ready[i] = True
        self._buckets[self._bucket_of[i]].pending -= 1
        while self._next < len(self._buckets) and self._buckets[self._next].pending == 0:
            self._start(self._buckets[self._next])
            self._next += 1
        for b in self._buckets[:self._next]:
            b.work.is_completed()  # NOTE: lets MPI progress the transfers started earlier
        if self._next == len(self._buckets):
            self._finish()

    def _start(self, bucket):
        with no_grad():
            for i, off in zip(bucket.indices, bucket.offsets):
                p = self._params[i]
                chunk = bucket.flat[off:off + p.numel()]
                if p.grad is None:
                    chunk.zero_()
                else:
                    chunk.copy_(p.grad.reshape(-1))
        bucket.work = dist.all_reduce(bucket.flat, op=dist.ReduceOp.AVG, async_op=True)

    def _finish(self):
        used = None
        if self.find_unused_parameters:  # NOTE: which parameters have a gradient on some rank
            from ... import tensor

            first = self._params[0]
            used = tensor([float(p.grad is not None) for p in self._params], dtype=first.dtype, device=first.device)
            dist.all_reduce(used, op=dist.ReduceOp.MAX)
            used = used.tolist()
        with no_grad():
            for b in self._buckets:
                b.work.wait()
                for i, off in zip(b.indices, b.offsets):
                    p = self._params[i]
                    if used is not None and not used[i]:
                        continue
                    chunk = b.flat[off:off + p.numel()].view(p.shape)
                    if p.grad is None:
                        p.grad = chunk.clone()
                    else:
                        p.grad.copy_(chunk)
        self._ready = None

    @contextlib.contextmanager
    def no_sync(self):
        """Within this block, forwards set up no gradient reduction: gradients accumulate locally."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

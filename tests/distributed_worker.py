"""One rank of the two-process jobs that tests/test_distributed.py starts with tritongrad.distributed.run.

    python -m tritongrad.distributed.run --nproc-per-node 2 tests/distributed_worker.py CASE

CASE: collectives (every collective against NumPy, and argument errors), ddp (training equals one
process on the whole batch, construction, no_sync, unused parameters), fail (rank 1 raises),
timeout (rank 1 is late). Each rank prints "rank R ok" at the end of a passing case.
"""
import sys
from datetime import timedelta

import numpy as np

import tritongrad as tg
import tritongrad.distributed as dist
from tritongrad import nn
from tritongrad.nn.parallel import DistributedDataParallel as DDP

SHAPES = [(97,), (33, 5), (1, 4, 3)]


def data(rank, shape, dtype):
    """Rank `rank`'s input: fresh random values any rank can recompute; integers for integer dtypes."""
    rng = np.random.default_rng(1000 + rank + 17 * len(shape))
    x = rng.standard_normal(shape) * 3
    return (np.round(x) if np.issubdtype(dtype, np.integer) else x).astype(dtype)


def check(a, b, what, tol=0.0):
    a = a.cpu().numpy() if isinstance(a, tg.Tensor) else a
    if not np.allclose(a, b, rtol=tol, atol=tol):
        raise AssertionError(f"rank {dist.get_rank()}: {what}: {a} != {b}")


def expect(error, text, fn):
    try:
        fn()
    except error as e:
        if text not in str(e):
            raise AssertionError(f"expected {text!r} in {e!r}") from e
    else:
        raise AssertionError(f"expected {error.__name__}({text!r})")


def collectives(device):
    r, n = dist.get_rank(), dist.get_world_size()
    reducers = {dist.ReduceOp.SUM: np.sum, dist.ReduceOp.AVG: np.mean, dist.ReduceOp.PRODUCT: np.prod,
                dist.ReduceOp.MIN: np.min, dist.ReduceOp.MAX: np.max}
    for shape in SHAPES:
        for dtype in (np.float64, np.float32, np.int64):
            tol = 1e-5 if dtype == np.float32 else 0.0
            every = np.stack([data(k, shape, dtype) for k in range(n)])
            mine = every[r]
            for op, fn in reducers.items():
                if op is dist.ReduceOp.AVG and dtype == np.int64:
                    continue
                t = tg.tensor(mine, device=device)
                dist.all_reduce(t, op=op)
                check(t, fn(every, axis=0), f"all_reduce {op} {shape} {dtype}", tol)
                t = tg.tensor(mine, device=device)
                dist.reduce(t, dst=1, op=op)
                check(t, fn(every, axis=0) if r == 1 else mine, f"reduce {op}", tol)
            t = tg.tensor(mine, device=device)
            work = dist.all_reduce(t, async_op=True)
            work.wait()
            check(t, every.sum(0), "all_reduce async", tol)
            assert work.is_completed()
            t = tg.tensor(mine, device=device)
            dist.broadcast(t, src=1)
            check(t, every[1], "broadcast")
            out = [tg.zeros(shape, dtype=t.dtype, device=device) for _ in range(n)]
            dist.all_gather(out, tg.tensor(mine, device=device))
            for k in range(n):
                check(out[k], every[k], "all_gather")
            flat = tg.zeros((n * shape[0],) + shape[1:], dtype=t.dtype, device=device)
            dist.all_gather_into_tensor(flat, tg.tensor(mine, device=device))
            check(flat, every.reshape(flat.shape), "all_gather_into_tensor")
            inputs = [data(k, (n * shape[0],) + shape[1:], dtype) for k in range(n)]  # each rank's input
            out = tg.zeros(shape, dtype=t.dtype, device=device)
            dist.reduce_scatter_tensor(out, tg.tensor(inputs[r], device=device))
            check(out, np.sum(inputs, axis=0)[r * shape[0]:(r + 1) * shape[0]], "reduce_scatter_tensor", tol)
            gathered = [tg.zeros(shape, dtype=t.dtype, device=device) for _ in range(n)] if r == 0 else None
            dist.gather(tg.tensor(mine, device=device), gathered, dst=0)
            if r == 0:
                for k in range(n):
                    check(gathered[k], every[k], "gather")
            t = tg.zeros(shape, dtype=t.dtype, device=device)
            pieces = [tg.tensor(every[k] * 2, device=device) for k in range(n)] if r == 1 else None
            dist.scatter(t, pieces, src=1)
            check(t, every[r] * 2, "scatter")
            t = tg.tensor(mine, device=device)
            if r == 0:
                dist.send(t, dst=1, tag=3)
            else:
                assert dist.recv(t, src=None, tag=3) == 0
                check(t, every[0], "send/recv")
    half = tg.tensor(data(r, (9,), np.float32), dtype=tg.float16, device=device)
    dist.all_reduce(half)
    check(half.float(), sum(tg.tensor(data(k, (9,), np.float32), dtype=tg.float16).float().numpy()
                            for k in range(n)), "float16 all_reduce", 1e-2)


def objects_and_errors():
    r = dist.get_rank()
    objs = [{"rank": r, "list": [1, 2]}, "text", None] if r == 0 else [None, None, None]
    dist.broadcast_object_list(objs, src=0)
    assert objs == [{"rank": 0, "list": [1, 2]}, "text", None], objs
    dist.barrier()
    dist.barrier(async_op=True).wait()
    expect(ValueError, "trying to initialize the default process group twice!", lambda: dist.init_process_group("mpi"))
    expect(TypeError, "Expected parameter `tensor` of type tritongrad.Tensor", lambda: dist.all_reduce([1.0]))
    expect(ValueError, "Tensors must be contiguous", lambda: dist.all_reduce(tg.ones(3, 4).t()))
    expect(TypeError, "op must be a tritongrad.distributed.ReduceOp", lambda: dist.all_reduce(tg.ones(2), op="sum"))
    expect(ValueError, "ReduceOp.AVG needs a floating-point tensor",
           lambda: dist.all_reduce(tg.ones(2, dtype=tg.int64), op=dist.ReduceOp.AVG))
    expect(ValueError, "Invalid source rank: 2", lambda: dist.broadcast(tg.ones(2), src=2))
    expect(ValueError, "expected a list of 2 tensors", lambda: dist.all_gather([tg.ones(2)], tg.ones(2)))
    expect(ValueError, "output_tensor has 3 elements", lambda: dist.all_gather_into_tensor(tg.ones(3), tg.ones(2)))
    expect(ValueError, "must share dtype", lambda: dist.all_gather_into_tensor(tg.ones(4, dtype=tg.float64),
                                                                                tg.ones(2)))
    expect(ValueError, "should not be the same as the rank", lambda: dist.send(tg.ones(2), dst=r))
    other = [tg.ones(2)] * 2
    if r == 1:
        expect(ValueError, "must NOT be specified on non-destination ranks", lambda: dist.gather(tg.ones(2), other))
    print(f"rank {r}: repr {dist.ReduceOp.SUM!r}, backend {dist.get_backend()}")


class Net(nn.Module):
    """Two layers, a buffer (which DDP broadcasts), and an optional branch some ranks leave unused."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.extra, self.never = nn.Linear(5, 7), nn.Linear(7, 3), nn.Linear(5, 3), nn.Linear(2, 2)
        self.register_buffer("offset", tg.randn(3, dtype=tg.float64))
        self.use_extra = False

    def forward(self, x):
        y = self.fc2(self.fc1(x).tanh()) + self.offset
        return y + self.extra(x) if self.use_extra else y


def model(seed):
    tg.manual_seed(seed)
    return Net().double()


def loss_fn(m, x, y):
    return ((m(x) - y) ** 2).mean()


def flat_params(m):
    return np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])


def ddp():
    r, n = dist.get_rank(), dist.get_world_size()
    rng = np.random.default_rng(7)
    x, y = tg.tensor(rng.standard_normal((16, 5))), tg.tensor(rng.standard_normal((16, 3)))
    mine = slice(r * 16 // n, (r + 1) * 16 // n)
    for cap in (25, 1e-4):  # NOTE: 1e-4 MiB = 104 bytes: a bucket per parameter or two
        net = model(seed=r)  # NOTE: different initial weights per rank: construction copies rank 0's
        reference = model(seed=0)
        d = DDP(net, bucket_cap_mb=cap, find_unused_parameters=True)
        check(flat_params(net), flat_params(reference), "parameters after construction")
        check(net.offset, reference.offset, "buffer after construction")
        assert cap == 25 or len(d._buckets) == 3, len(d._buckets)
        opt = tg.optim.SGD(d.parameters(), lr=0.1, momentum=0.9)
        ref_opt = tg.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
        for step in range(12):
            if step == 0:
                d(x[mine])  # NOTE: a forward with no backward sets up a reduction the next forward replaces
            opt.zero_grad()
            loss_fn(d, x[mine], y[mine]).backward()
            opt.step()
            ref_opt.zero_grad()
            loss_fn(reference, x, y).backward()
            ref_opt.step()
        check(flat_params(net), flat_params(reference), f"DDP training, bucket_cap_mb={cap}", 1e-12)
        assert net.never.weight.grad is None  # unused on every rank: its gradient is left alone

    # no_sync: accumulate two micro-batches locally, then average the sum across ranks
    net, reference = model(0), model(0)
    d = DDP(net, bucket_cap_mb=1e-4, find_unused_parameters=True)
    quarters = [slice(r * 8 + k * 4, r * 8 + k * 4 + 4) for k in range(2)]
    with d.no_sync():
        loss_fn(d, x[quarters[0]], y[quarters[0]]).backward()
    local = model(0)
    loss_fn(local, x[quarters[0]], y[quarters[0]]).backward()
    check(net.fc1.weight.grad, local.fc1.weight.grad, "no_sync keeps the local gradient", 1e-15)
    loss_fn(d, x[quarters[1]], y[quarters[1]]).backward()
    for k in range(n):
        for q in range(2):
            s = slice(k * 8 + q * 4, k * 8 + q * 4 + 4)
            (loss_fn(reference, x[s], y[s]) / n).backward()
    for p, q in zip(net.parameters(), reference.parameters()):
        if q.grad is not None:
            check(p.grad, q.grad, "no_sync accumulation", 1e-12)

    # a branch used on rank 1 only: its gradient is the average with rank 0's zeros
    net, reference = model(0), model(0)
    d = DDP(net, find_unused_parameters=True)
    net.use_extra = r == 1
    loss_fn(d, x[mine], y[mine]).backward()
    reference.use_extra = True
    loss_fn(reference, x[8:], y[8:]).backward()
    check(net.extra.weight.grad, reference.extra.weight.grad.numpy() / n, "partly used parameter", 1e-12)

    # without find_unused_parameters, a parameter with no gradient is reported at the next forward
    d = DDP(model(0))
    loss_fn(d, x[mine], y[mine]).backward()
    expect(RuntimeError, "Parameters which did not receive grad for rank", lambda: d(x))
    expect(RuntimeError, "extra.weight", lambda: d(x))


def main():
    case = sys.argv[1]
    dist.init_process_group("mpi", timeout=timedelta(seconds=1 if case == "timeout" else 30))
    r = dist.get_rank()
    if case == "collectives":
        collectives("cpu")
        if tg.cuda.is_available():
            collectives("cuda")
        objects_and_errors()
    elif case == "ddp":
        ddp()
    elif case == "fail":
        if r == 1:
            raise ValueError("rank 1 fails on purpose")
        dist.all_reduce(tg.ones(3))
    elif case == "timeout":
        if r == 1:
            import time

            time.sleep(2)
        dist.barrier()
    print(f"rank {r} ok", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()

"""tritongrad.distributed, DistributedDataParallel, DistributedSampler and the launcher.

The two-process tests start `python -m tritongrad.distributed.run --nproc-per-node 2
tests/distributed_worker.py CASE` (MPI: they skip when mpi4py or mpiexec is missing); the others
run in this process and need no MPI.
"""
import importlib.util
import os
import pathlib
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import tritongrad as tg
import tritongrad.distributed as dist
from tritongrad.distributed import _rendezvous, run
from tritongrad.nn.parallel import DistributedDataParallel
from tritongrad.nn.parallel.distributed import assign_buckets
from tritongrad.utils.data import DistributedSampler

ROOT = pathlib.Path(__file__).resolve().parent.parent
needs_mpi = pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None or run.find_mpiexec() is None,
                               reason="needs mpi4py and mpiexec (pip install 'tritongrad[mpi]')")


def launch(*args, timeout=120):
    """Run the launcher with two processes; (exit code, output, seconds)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    start = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "tritongrad.distributed.run", "--nproc-per-node", "2", *args],
                       capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    return p.returncode, p.stdout + p.stderr, time.monotonic() - start


def worker(case):
    return launch(str(ROOT / "tests" / "distributed_worker.py"), case)


@needs_mpi
@pytest.mark.parametrize("case", ["collectives", "ddp"])
def test_two_processes(case):
    code, out, _ = worker(case)
    assert code == 0 and "rank 0 ok" in out and "rank 1 ok" in out, out


@needs_mpi
def test_a_failing_rank_fails_the_others_clearly():
    code, out, seconds = worker("fail")
    assert code != 0
    assert "ValueError: rank 1 fails on purpose" in out  # rank 1's own traceback
    assert ("tritongrad.distributed.DistBackendError: all_reduce on rank 0: rank 1 failed with ValueError: rank 1 "
            "fails on purpose") in out, out
    assert seconds < 60


@needs_mpi
def test_a_late_rank_times_out_clearly():
    code, out, seconds = worker("timeout")
    assert code != 0
    assert "DistBackendError: barrier on rank 0 did not complete within 1 s" in out, out
    assert seconds < 60


@needs_mpi
def test_train_ddp_example():
    code, out, _ = launch(str(ROOT / "examples" / "train_ddp.py"), "--epochs", "1", "--max-steps", "6")
    assert code == 0, out
    assert "trained 6 steps" in out and "replicas identical on all 2 ranks: True" in out, out


# --- in this process, no MPI ----------------------------------------------------------------------------------
def test_import_is_cheap_and_uninitialized_errors():
    assert "mpi4py" not in sys.modules and not dist.is_initialized()
    for fn in (dist.get_rank, dist.get_world_size, dist.barrier, lambda: dist.all_reduce(tg.ones(2)),
               lambda: DistributedDataParallel(tg.nn.Linear(2, 2)), lambda: DistributedSampler(range(3))):
        with pytest.raises(ValueError, match="Default process group has not been initialized, please make sure to "
                                             "call init_process_group."):
            fn()
    with pytest.raises(NotImplementedError, match="the default process group only"):
        dist.get_rank(group=object())
    with pytest.raises(ValueError, match="Unknown backend type 'gloo'"):
        dist.init_process_group("gloo")
    assert repr(dist.ReduceOp.SUM) == "<RedOpType.SUM: 0>" and str(dist.ReduceOp.AVG) == "RedOpType.AVG"
    assert issubclass(dist.DistBackendError, RuntimeError)


def test_nccl_without_a_gpu_says_so():
    if tg.cuda.is_available() and not tg.cuda.is_emulated():
        pytest.skip("a real GPU is here: NCCL would start")
    with pytest.raises(RuntimeError, match="backend 'nccl' needs a (real )?CUDA GPU"):
        dist.init_process_group("nccl", init_method="tcp://127.0.0.1:29999", world_size=1, rank=0)
    assert not dist.is_initialized()


def test_work_runs_its_steps_once_in_order():
    seen = []
    w = dist.Work(wait=lambda timeout: seen.append("wait"), test=lambda: False)
    w.then(lambda: seen.append(1)).then(lambda: seen.append(2))
    assert not w.is_completed() and seen == []
    assert w.wait() and w.wait() and seen == ["wait", 1, 2] and w.is_completed()


@pytest.mark.parametrize("n", [10, 11, 1, 97])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_matches_pytorch_unshuffled(torch, n, replicas, drop_last):
    from torch.utils.data.distributed import DistributedSampler as Reference

    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        ref = Reference(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(ref) and len(ours) == len(ref)


@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_shuffles_by_epoch_into_equal_disjoint_shares(drop_last):
    n, replicas = 97, 4
    samplers = [DistributedSampler(range(n), replicas, r, seed=3, drop_last=drop_last) for r in range(replicas)]
    first = [list(s) for s in samplers]
    assert len({len(s) for s in first}) == 1 and len(first[0]) == (24 if drop_last else 25)
    everything = sorted(i for share in first for i in share)
    if drop_last:
        assert len(set(everything)) == len(everything) == 96
    else:
        assert set(everything) == set(range(n)) and len(everything) == 100  # three indices twice: the padding
    assert [list(s) for s in samplers] == first  # same epoch, same order
    for s in samplers:
        s.set_epoch(1)
    assert [list(s) for s in samplers] != first
    with pytest.raises(ValueError, match=r"Invalid rank 4, rank should be in the interval \[0, 3\]"):
        DistributedSampler(range(n), 4, 4)


def test_buckets_reverse_order_first_small_per_dtype():
    mb = 1024 * 1024
    params = [tg.zeros(mb // 4) for _ in range(6)]  # 1 MiB each, float32
    assert assign_buckets(params, 2 * mb) == [[5], [4, 3], [2, 1], [0]]
    assert assign_buckets(params, 25 * mb) == [[5], [4, 3, 2, 1, 0]]
    mixed = [tg.zeros(8), tg.zeros(8, dtype=tg.float64), tg.zeros(8), tg.zeros(8, dtype=tg.float64)]
    assert assign_buckets(mixed, 128) == [[3, 1], [2, 0]]  # two float64 x 8 fill one bucket


def test_rendezvous_env_and_tcp_and_file(monkeypatch, tmp_path):
    for var in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ValueError, match="environment variable RANK expected, but not set"):
        _rendezvous.resolve("env://", -1, -1)
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match="environment variable MASTER_ADDR expected"):
        _rendezvous.resolve(None, -1, -1)
    with pytest.raises(ValueError, match="rank 2 out of range for world_size 2"):
        _rendezvous.resolve("env://", -1, 2)
    with pytest.raises(ValueError, match="unsupported init_method"):
        _rendezvous.resolve("redis://x", 2, 0)
    port = _free_port()
    for url in (f"tcp://127.0.0.1:{port}", f"file://{tmp_path / 'rendezvous'}"):
        results = {}

        def rank(r, url=url, results=results):
            _, _, share = _rendezvous.resolve(url, 3, r)
            results[r] = share(b"unique id" if r == 0 else None, 10.0)
        threads = [threading.Thread(target=rank, args=(r,)) for r in (2, 1, 0)]  # NOTE: rank 0 last
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert results == {0: b"unique id", 1: b"unique id", 2: b"unique id"}, url


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_launcher_environment_and_failure(tmp_path, capfd):
    script = tmp_path / "show.py"
    script.write_text("import os, sys, time\n"
                      "keys = ['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE', 'MASTER_ADDR']\n"
                      "line = ' '.join(os.environ[k] for k in keys) + ' ' + str(sys.argv[1:]) + '\\n'\n"
                      "sys.stdout.write(line); sys.stdout.flush()  # one write: the two ranks' lines never interleave\n"
                      "if sys.argv[1] == 'fail':\n"
                      "    time.sleep(60) if os.environ['RANK'] == '0' else sys.exit(3)\n")
    assert run.main(["--no-mpiexec", "--nproc-per-node", "2", str(script), "ok", "--flag"]) == 0
    lines = sorted(capfd.readouterr().out.splitlines())
    assert lines == ["0 2 0 2 127.0.0.1 ['ok', '--flag']", "1 2 1 2 127.0.0.1 ['ok', '--flag']"]
    start = time.monotonic()
    assert run.main(["--no-mpiexec", "--nproc-per-node", "2", str(script), "fail"]) == 3
    assert time.monotonic() - start < 30  # rank 0 was stopped, not waited for
    assert "rank 1 exited with code 3; stopped the others" in capfd.readouterr().err
    assert np.array_equal(run.worker_env(1, 2, ["4", "5"])["CUDA_VISIBLE_DEVICES"], "5")


class _FakeNCCL:
    """Stands in for libnccl.so.2: records each call with its arguments' values, returns `result`."""

    def __init__(self, result=0):
        self.calls, self.result = [], result

    def __getattr__(self, name):
        def call(*args):
            self.calls.append((name, [getattr(a, "value", a) for a in args]))
            return self.result
        return call

    def ncclGetErrorString(self, result):
        return b"invalid usage"


@pytest.mark.skipif(not tg.cuda.is_available(), reason="needs CUDA tensors (set TRITONGRAD_EMULATE_CUDA=1)")
def test_nccl_calls_without_a_gpu(monkeypatch):
    """What the NCCL backend hands libnccl for each collective (pointers, counts, types, ops, roots, stream),
    checked against nccl.h's signatures with a recording stand-in: no GPU runs NCCL here."""
    import ctypes

    from tritongrad.distributed._nccl import NCCLBackend

    backend = object.__new__(NCCLBackend)
    backend.lib, backend.rank, backend.size, backend.comm = _FakeNCCL(), 0, 2, ctypes.c_void_p(77)
    monkeypatch.setattr(dist, "_group", backend)
    stream = tg.cuda.current_stream().handle
    t = tg.randn(33, 5, device="cuda")
    ptr = t._data.data_ptr()

    def last(n=1):
        calls = backend.lib.calls[-n:]
        backend.lib.calls.clear()
        return calls

    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    assert last() == [("ncclAllReduce", [ptr, ptr, 165, 7, 4, 77, stream])]  # float32 = 7, ncclAvg = 4
    dist.broadcast(t.double(), src=1)
    (name, args), = last()
    assert name == "ncclBroadcast" and args[2:] == [165, 8, 1, 77, stream]
    out = tg.zeros(66, 5, device="cuda")
    dist.all_gather_into_tensor(out, t)
    assert last() == [("ncclAllGather", [ptr, out._data.data_ptr(), 165, 7, 77, stream])]
    dist.reduce_scatter_tensor(t, out, op=dist.ReduceOp.MAX)
    assert last() == [("ncclReduceScatter", [out._data.data_ptr(), ptr, 165, 7, 2, 77, stream])]
    dist.reduce(t, dst=1, op=dist.ReduceOp.PRODUCT)
    assert last() == [("ncclReduce", [ptr, ptr, 165, 7, 1, 1, 77, stream])]
    gathered = [tg.zeros(33, 5, device="cuda") for _ in range(2)]
    dist.gather(t, gathered, dst=0)  # NOTE: the root copies its own part and receives the other
    names = [(name, args[1:4]) for name, args in last(3)]
    assert names == [("ncclGroupStart", []), ("ncclRecv", [165, 7, 1]), ("ncclGroupEnd", [])]
    assert np.array_equal(gathered[0].cpu().numpy(), t.cpu().numpy())
    dist.send(tg.ones(4, dtype=tg.int64, device="cuda"), dst=1)
    assert [(name, args[1:4]) for name, args in last(3)][1] == ("ncclSend", [4, 4, 1])  # int64 = 4
    with pytest.raises(NotImplementedError, match="recv needs src="):
        dist.recv(t)
    with pytest.raises(ValueError, match="backend 'nccl' works on CUDA tensors"):
        dist.all_reduce(tg.ones(2))
    backend.lib.result = 5
    with pytest.raises(RuntimeError, match=r"NCCL error in ncclAllReduce on rank 0: invalid usage \(ncclResult_t 5\)"):
        dist.all_reduce(t)

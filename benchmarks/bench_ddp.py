"""DistributedDataParallel on the CPU with MPI: does bucketing overlap the all-reduces with backward?

An MLP of many layers (default 32 x Linear(512, 512) + ReLU, float32, 32 MiB of parameters) trains
on 2 processes. For each way of averaging the gradients, each step measures, with the machine's
monotonic clock (the same for every process on a host):
    last gradient -> ready: from the last gradient produced (the last post-accumulate-grad hook, on
        any rank) to every .grad holding the average (backward, and any loop after it, returned
        on every rank): the communication that did not hide behind backward;
    step: from the start of backward to the same point.
Ways: DDP with the default buckets (25 MiB, the first 1 MiB) and with 4 MiB buckets, both started
from the hooks during backward; DDP with one bucket (the all-reduce starts when the last gradient
arrives: no overlap); and a loop of blocking all_reduce(p.grad) per parameter after backward (no
bucketing, no overlap). Bytes all-reduced per step are counted from DDP's buckets and checked equal
to the parameter bytes.

    python benchmarks/bench_ddp.py [--layers 32] [--width 512] [--steps 15] [--out benchmarks/results/cpu]

starts 2 processes through tritongrad.distributed.run and writes ddp_overlap.json and .md to --out.
Under pytest, a tiny run checks the plumbing (skipped without MPI).
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WAYS = ["ddp, 25 MiB buckets (default)", "ddp, 4 MiB buckets", "ddp, one bucket (no overlap)",
        "all_reduce per parameter after backward"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=32)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--batch", type=int, default=64, help="samples per process per step")
    parser.add_argument("--steps", type=int, default=15, help="timed steps per way (after 3 untimed)")
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--out", default=os.path.join(HERE, "results", "cpu"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def worker(args):
    import tritongrad as tg
    import tritongrad.distributed as dist
    import tritongrad.nn.parallel.distributed as ddp_module
    from tritongrad import nn

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    rng = np.random.default_rng(rank)
    x = tg.tensor(rng.standard_normal((args.batch, args.width)), dtype=tg.float32)
    results = {}
    for way in WAYS:
        tg.manual_seed(0)
        model = nn.Sequential(*[m for _ in range(args.layers) for m in (nn.Linear(args.width, args.width), nn.ReLU())])
        param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
        produced = []
        for p in model.parameters():  # NOTE: registered before DDP's hooks, so they run first
            p.register_post_accumulate_grad_hook(lambda p, produced=produced: produced.append(time.monotonic()))
        run, comm_bytes = model, param_bytes
        if way.startswith("ddp"):
            cap = {"ddp, 4 MiB buckets": 4, "ddp, one bucket (no overlap)": 1e6}.get(way, 25)
            first = ddp_module._FIRST_BUCKET_BYTES
            if cap == 1e6:
                ddp_module._FIRST_BUCKET_BYTES = 1 << 50  # NOTE: no small first bucket either
            run = ddp_module.DistributedDataParallel(model, bucket_cap_mb=cap)
            ddp_module._FIRST_BUCKET_BYTES = first
            comm_bytes = sum(b.flat.numel() * b.flat.element_size() for b in run._buckets)
            buckets = len(run._buckets)
        else:
            buckets = len(list(model.parameters()))
        assert comm_bytes == param_bytes, (comm_bytes, param_bytes)
        tails, steps = [], []
        for step in range(3 + args.steps):
            for p in model.parameters():
                p.grad = None
            loss = run(x).square().mean()
            produced.clear()
            dist.barrier()
            start = time.monotonic()
            loss.backward()
            if not way.startswith("ddp"):
                for p in model.parameters():
                    dist.all_reduce(p.grad, op=dist.ReduceOp.AVG)
            ready = time.monotonic()
            times = tg.tensor([max(produced), ready, start], dtype=tg.float64)
            every = [tg.zeros(3, dtype=tg.float64) for _ in range(world)]
            dist.all_gather(every, times)
            every = np.array([t.numpy() for t in every])
            if step >= 3:
                tails.append(every[:, 1].max() - every[:, 0].max())
                steps.append(every[:, 1].max() - every[:, 2].min())
        results[way] = {"buckets": buckets, "bytes_per_step": int(comm_bytes), "param_bytes": int(param_bytes),
                        "last_grad_to_ready_ms": 1e3 * float(np.median(tails)),
                        "backward_to_ready_ms": 1e3 * float(np.median(steps)),
                        "last_grad_to_ready_ms_all": [round(1e3 * t, 3) for t in tails]}
    if rank == 0:
        write(args, world, results)
    dist.destroy_process_group()


def write(args, world, results):
    from mpi4py import MPI

    mpi = " ".join(MPI.Get_library_version().split("\n")[0].split())
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs (shared), load average {os.getloadavg()[0]:.1f} at the end"
    meta = {"processes": world, "layers": args.layers, "width": args.width, "batch_per_process": args.batch,
            "dtype": "float32", "steps": args.steps, "statistic": "median", "mpi": mpi, "machine": machine,
            "command": f"python benchmarks/bench_ddp.py --layers {args.layers} --width {args.width} "
                       f"--batch {args.batch} --steps {args.steps}"}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "ddp_overlap.json"), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    lines = [f"# DDP overlap on the CPU with MPI ({world} processes)", "",
             f"`{meta['command']}` ({meta['mpi']}; {meta['machine']}). {args.layers} x Linear({args.width}, "
             f"{args.width}) + ReLU, float32, batch {args.batch} per process; medians of {args.steps} steps.", "",
             "On the CPU, communication is CPU work: the same cores reduce the buckets and run backward, and "
             "MPICH advances a non-blocking all-reduce only inside MPI calls (DDP makes one from each gradient "
             "hook). The first column of times is the communication left after the last gradient; the second, "
             "the whole backward with it.", "",
             "| way | buckets | MiB all-reduced per step (= parameters) | last gradient -> .grad ready on every rank "
             "(ms) | backward start -> ready (ms) |", "|---|---:|---:|---:|---:|"]
    for way, r in results.items():
        lines.append(f"| {way} | {r['buckets']} | {r['bytes_per_step'] / 2**20:.2f} | "
                     f"{r['last_grad_to_ready_ms']:.2f} | {r['backward_to_ready_ms']:.2f} |")
    with open(os.path.join(args.out, "ddp_overlap.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def launch(args, argv):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "tritongrad.distributed.run", "--nproc-per-node", str(args.nproc),
                           os.path.abspath(__file__), "--worker", *argv], env=env, capture_output=True, text=True,
                          timeout=600)


def test_ddp_overlap_smoke(tmp_path):
    """The benchmark's plumbing on a tiny model: every way runs and counts the parameter bytes."""
    import importlib.util

    from tritongrad.distributed.run import find_mpiexec

    if importlib.util.find_spec("mpi4py") is None or find_mpiexec() is None:
        import pytest

        pytest.skip("needs mpi4py and mpiexec (pip install 'tritongrad[mpi]')")
    argv = ["--layers", "3", "--width", "8", "--batch", "4", "--steps", "1", "--out", str(tmp_path)]
    p = launch(parse_args(argv), argv)
    assert p.returncode == 0, p.stdout + p.stderr
    results = json.loads((tmp_path / "ddp_overlap.json").read_text())["results"]
    assert list(results) == WAYS
    assert all(r["bytes_per_step"] == r["param_bytes"] == 3 * (8 * 8 + 8) * 4 for r in results.values())


if __name__ == "__main__":
    args = parse_args()
    if args.worker:
        worker(args)
    else:
        p = launch(args, sys.argv[1:])
        print(p.stdout + p.stderr)
        sys.exit(p.returncode)

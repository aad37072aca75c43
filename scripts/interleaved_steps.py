"""The tutorial's training step (benchmarks/bench_training.py) for NumPy, PyTorch CPU and tritongrad CPU,
interleaved in one process: a fairer comparison on a shared machine than three benchmark runs.

    python scripts/interleaved_steps.py [--rounds 30] [--steps 200]
    OPENBLAS_NUM_THREADS=1 python scripts/interleaved_steps.py --torch-threads 1
    python scripts/interleaved_steps.py --providers tritongrad-cpu,tritongrad-cpu-threaded,torch-cpu --print-rounds

Each round times `--steps` steps of each provider in turn (the order alternates between rounds), and
keeps the median step of that block; the report gives, per provider, the median over rounds of those
medians with the quartiles. A machine's load drifts within seconds: blocks of the providers side by
side see the same drift, where separate runs do not.
"""
import argparse
import contextlib
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_training import tutorial_step  # noqa: E402
from benchlib import Provider  # noqa: E402


@contextlib.contextmanager
def _threaded(name):
    """tritongrad-cpu-threaded: products of any size on OpenBLAS's own threads for the block."""
    if name != "tritongrad-cpu-threaded":
        yield
        return
    from tritongrad.backends import _blas

    small, _blas.SMALL = _blas.SMALL, 0
    try:
        yield
    finally:
        _blas.SMALL = small
        time.sleep(0.15)  # NOTE: OpenBLAS's worker spins ~0.1 s after its last product


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--providers", default="numpy,torch-cpu,tritongrad-cpu")
    parser.add_argument("--torch-threads", type=int, help="torch.set_num_threads(N) first: PyTorch ignores "
                        "OPENBLAS_NUM_THREADS, so an equal-threads comparison sets its count here")
    parser.add_argument("--print-rounds", action="store_true", help="each round's block medians too")
    args = parser.parse_args(argv)
    names = args.providers.split(",")
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    steps = {n: tutorial_step(Provider(n.removesuffix("-threaded"))) for n in names}
    for step in steps.values():  # NOTE: warm: first calls allocate and fill caches
        for _ in range(args.steps):
            step()
    medians = {n: [] for n in names}
    for r in range(args.rounds):
        for n in names if r % 2 else names[::-1]:
            step, times = steps[n], []
            with _threaded(n):
                for _ in range(args.steps):
                    t = time.perf_counter()
                    step()
                    times.append(time.perf_counter() - t)
            medians[n].append(statistics.median(times) * 1e6)
        if args.print_rounds:
            print(f"round {r:3d}: " + "  ".join(f"{n} {medians[n][-1]:.0f}" for n in names))
    for n in names:
        q = statistics.quantiles(medians[n], n=4)
        print(f"{n:24s} {statistics.median(medians[n]):6.0f} us per step (quartiles of {args.rounds} rounds: "
              f"{q[0]:.0f}-{q[2]:.0f})")


if __name__ == "__main__":
    main()

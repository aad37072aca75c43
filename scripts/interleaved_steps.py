"""The tutorial's training step (benchmarks/bench_training.py) for NumPy, PyTorch CPU and tritongrad CPU,
interleaved in one process: a fairer comparison on a shared machine than three benchmark runs.

    python scripts/interleaved_steps.py [--rounds 30] [--steps 200]
    OPENBLAS_NUM_THREADS=1 python scripts/interleaved_steps.py

Each round times `--steps` steps of each provider in turn (the order alternates between rounds), and
keeps the median step of that block; the report gives, per provider, the median over rounds of those
medians with the quartiles. A machine's load drifts within seconds: blocks of the providers side by
side see the same drift, where separate runs do not.
"""
import argparse
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_training import tutorial_step  # noqa: E402
from benchlib import Provider  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--providers", default="numpy,torch-cpu,tritongrad-cpu")
    args = parser.parse_args(argv)
    names = args.providers.split(",")
    steps = {n: tutorial_step(Provider(n)) for n in names}
    for step in steps.values():  # NOTE: warm: first calls allocate and fill caches
        for _ in range(args.steps):
            step()
    medians = {n: [] for n in names}
    for r in range(args.rounds):
        for n in names if r % 2 else names[::-1]:
            step, times = steps[n], []
            for _ in range(args.steps):
                t = time.perf_counter()
                step()
                times.append(time.perf_counter() - t)
            medians[n].append(statistics.median(times) * 1e6)
    for n in names:
        q = statistics.quantiles(medians[n], n=4)
        print(f"{n:16s} {statistics.median(medians[n]):6.0f} us per step (quartiles of {args.rounds} rounds: "
              f"{q[0]:.0f}-{q[2]:.0f})")


if __name__ == "__main__":
    main()

"""Instructions per step of bench_overhead's small cases (tritongrad-cpu), counted by valgrind's callgrind.

    python scripts/callgrind_steps.py [--cases tiny_chain,rosenbrock_step,net_small_step] [--steps 100]
        [--tritongrad DIR]

Counts are deterministic where timings on a shared machine are not: to judge a fast path, compare
the counts with and without it (--tritongrad DIR: the directory holding another copy of the
`tritongrad` package, e.g. one with the fast path taken out). Each case is built by
benchmarks/bench_overhead.py, run 30 times to warm, then --steps times between two calls of
os.getppid(): callgrind dumps its counters at each (--dump-before=getppid), so each dump is one case.
PyTorch is kept out (the cases' tritongrad provider needs none of it, and it is slow to import under
valgrind); OpenBLAS runs on one thread, as bench_overhead's fixture sets it.
"""
import argparse
import glob
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
CASES = "tiny_chain,rosenbrock_step,net_small_step"


def child(cases, steps):
    """Under valgrind: warm each case, then run each between two os.getppid() calls."""
    sys.modules["torch"] = None  # NOTE: benchlib's import of torch then finds nothing
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_overhead

    runs = [bench_overhead.CASES[c][3]("tritongrad-cpu", np.random.default_rng(0)) for c in cases]
    for step in runs:
        for _ in range(30):
            step()
    for step in runs:
        os.getppid()
        for _ in range(steps):
            step()
    os.getppid()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default=CASES)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--tritongrad", help="a directory holding the tritongrad package to measure instead")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    cases = a.cases.split(",")
    if a.child:
        return child(cases, a.steps)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONHASHSEED="0")
    if a.tritongrad:
        env["PYTHONPATH"] = a.tritongrad
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "cg.out")
        subprocess.run(["valgrind", "--tool=callgrind", "--dump-before=getppid", f"--callgrind-out-file={out}",
                        sys.executable, __file__, "--child", "--cases", a.cases, "--steps", str(a.steps)],
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        dumps = sorted(glob.glob(out + ".*"), key=lambda p: int(p.rsplit(".", 1)[1]))
        for case, path in zip(cases, dumps[1:]):  # NOTE: the first dump is the imports and the warm-up
            total = next(int(line.split()[1]) for line in open(path) if line.startswith(("summary:", "totals:")))
            print(f"{case:16s} {total // a.steps:10d} instructions/step")


if __name__ == "__main__":
    main()

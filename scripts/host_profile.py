"""Where each op's host time goes on the CUDA path, measured without a GPU (stubbed CUDA).

    TRITONGRAD_STUB_CUDA=1 python scripts/host_profile.py [--cases sub_,net_large_step] [--top 8]
        [--json out.json] [--no-profile] [--providers tritongrad-stub,tritongrad-cpu,torch-cpu]

For each case of benchmarks/bench_host.py:
1. a timing table: microseconds of CPU time per call (the best of 7 medians of timeit batches) of
   every provider available, and the ratio of stubbed CUDA to PyTorch on the CPU;
2. a breakdown of one provider's time (stubbed CUDA by default) by stage, from cProfile's own time
   per function grouped by where the function lives: tensor (Tensor methods and op recording),
   ops (the op table), autograd (engine and graph), backend, kernel wrappers (kernels/*.py), launch
   (kernels/_launch.py), triton (Triton's Python and C launcher), memory (tritongrad/cuda: allocator,
   arrays, streams), numpy, other. cProfile inflates every Python call by a similar amount, so read
   the shares, not the absolute figures; the top functions by own time follow.

What stubbed CUDA leaves out (tritongrad/cuda/stub.py): the driver's work in each call (a real
cuLaunchKernelEx is a few microseconds on an H100) and all kernel time.
"""
import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
import timeit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "benchmarks")]

import numpy as np  # noqa: E402
from bench_host import CASES, PROVIDERS, torch, unavailable  # noqa: E402

STAGES = [  # (stage, path fragment): the first that matches a function's file wins
    ("launch", "kernels/_launch.py"), ("kernel wrappers", "kernels/"), ("memory", "tritongrad/cuda/"),
    ("autograd", "tritongrad/autograd/"), ("ops", "tritongrad/ops/"), ("backend", "tritongrad/backends/"),
    ("tensor", "tritongrad/"), ("triton", "triton/"), ("numpy", "numpy/"), ("torch", "torch/"),
]


def _stage(func):
    filename, _, name = func
    if filename == "~":  # a built-in: C code, attributed by name
        if "launch" in name:
            return "triton"  # NOTE: Triton's C launcher (cuda_utils.launch)
        return "builtins"
    for stage, frag in STAGES:
        if frag in filename.replace(os.sep, "/"):
            return stage
    return "other"


def time_us(call, repeat=7):
    """Microseconds of this thread's CPU time per call: the best of `repeat` medians of batches of
    about 20 ms. NOTE: CPU time, not wall time, so that other processes on a shared machine (they
    take the core away, not the work) inflate it less; the stubbed path never waits for anything."""
    timer = timeit.Timer(call, timer=time.thread_time)
    n = max(1, int(0.02 / max(timer.timeit(number=3) / 3, 1e-7)))
    return min(statistics.median(timer.repeat(number=n, repeat=3)) / n for _ in range(repeat)) * 1e6


def profile(call, calls):
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        call()
    prof.disable()
    return pstats.Stats(prof)


def breakdown(stats, calls, top):
    by_stage, funcs = {}, []
    for func, (_, nc, tt, _, _) in stats.stats.items():
        by_stage[_stage(func)] = by_stage.get(_stage(func), 0.0) + tt
        funcs.append((tt, nc, func))
    total = sum(by_stage.values()) or 1.0
    stages = {k: v / total for k, v in sorted(by_stage.items(), key=lambda kv: -kv[1])}
    funcs.sort(reverse=True)
    rows = [(f"{os.path.relpath(f[0], ROOT) if f[0] != '~' else ''}:{f[1]}({f[2]})", nc / calls, tt / total)
            for tt, nc, f in funcs[:top]]
    return stages, rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--providers", default=",".join(PROVIDERS))
    ap.add_argument("--profile-provider", default="tritongrad-stub")
    ap.add_argument("--top", type=int, default=8)
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    if torch is not None:
        torch.set_num_threads(1)
    providers = [p for p in args.providers.split(",") if not unavailable(p)]
    skipped = [f"{p} ({unavailable(p)})" for p in args.providers.split(",") if unavailable(p)]
    if skipped:
        print("skipped:", "; ".join(skipped))
    results = {}
    print(f"{'case':<18}" + "".join(f"{p:>18}" for p in providers) + "   stub/torch")
    for case in args.cases.split(","):
        build = CASES[case][1]
        row = {}
        for p in providers:
            call = build(p, np.random.default_rng(0))
            call()
            call()
            row[p] = time_us(call)
        results[case] = {"us": row}
        ratio = (f"{row['tritongrad-stub'] / row['torch-cpu']:.2f}x"
                 if "tritongrad-stub" in row and "torch-cpu" in row else "")
        print(f"{case:<18}" + "".join(f"{row[p]:>16.1f}us" for p in providers) + f"   {ratio}", flush=True)
    if not args.no_profile and args.profile_provider in providers:
        print(f"\nwhere {args.profile_provider}'s time goes (cProfile own time, shares of the profiled total)")
        for case in args.cases.split(","):
            call = CASES[case][1](args.profile_provider, np.random.default_rng(0))
            call()
            calls = max(20, int(0.3e6 / max(results[case]["us"][args.profile_provider], 1)))
            stages, rows = breakdown(profile(call, calls), calls, args.top)
            results[case]["stages"] = stages
            results[case]["top"] = rows
            print(f"\n## {case}: {results[case]['us'][args.profile_provider]:.1f} us per call")
            print("   " + ", ".join(f"{k} {v:.0%}" for k, v in stages.items() if v >= 0.005))
            for name, ncalls, share in rows:
                print(f"   {share:6.1%} {ncalls:6.1f}x  {name}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()

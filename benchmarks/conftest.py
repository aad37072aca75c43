"""Benchmark session set-up: the time budget, and the machine description in the results JSON.

Helpers for the benchmark files live in benchlib.py (a plain module: importing from `conftest`
would be ambiguous, tests/ has one too).

    python -m pytest benchmarks                                  # CI: each case runs once, as a test
    python -m pytest benchmarks --benchmark-enable --benchmark-json=bench.json   # a measurement
    python scripts/bench_report.py bench.json --out results/     # markdown table, plot, targets
"""
import importlib.metadata
import os
import subprocess

import pytest
from benchlib import BUDGET_S, CASE_S, EMULATED, QUICK, REAL_CUDA, RUN_EMULATED, check_budget

import tritongrad as tg


@pytest.fixture(autouse=True)
def _budget():
    """Cases that start after the budget is spent skip, so that the JSON is still written."""
    check_budget()


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _driver_version():
    """The NVIDIA driver (nvidia-smi) and the CUDA version its driver API reports, when there is a GPU."""
    out = {}
    try:
        proc = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=20)
        if proc.returncode == 0 and proc.stdout.strip():
            out["driver"] = proc.stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError):
        pass
    if REAL_CUDA:
        try:
            rt = tg.cuda._runtime
            tg.cuda.init()
            v = rt.check(rt.cu.cuDriverGetVersion())
            out["cuda_driver_api"] = f"{v // 1000}.{v % 1000 // 10}"
        except Exception as e:  # NOTE: a description of the machine must never fail the run
            out["cuda_driver_api"] = f"unknown ({e})"
    return out


def describe():
    """What the report names: the GPU, its driver, the versions and the mode of this run."""
    info = {"device": None, "emulated": EMULATED, "quick": QUICK, "case_s": CASE_S, "budget_s": BUDGET_S,
            "emulated_cases": RUN_EMULATED}
    if tg.cuda.is_available():
        try:
            info["device"] = tg.cuda.get_device_name()
        except Exception as e:
            info["device"] = f"unknown ({e})"
    info.update(_driver_version())
    info["versions"] = {name: _version(dist) for name, dist in (
        ("tritongrad", "tritongrad"), ("triton", "triton"), ("numpy", "numpy"), ("torch", "torch"),
        ("cupy", "cupy"), ("cupy-cuda12x", "cupy-cuda12x"), ("cupy-cuda13x", "cupy-cuda13x"),
        ("cuda-core", "cuda-core"),
        ("cuda-bindings", "cuda-bindings"), ("pytest-benchmark", "pytest-benchmark"))}
    info["versions"]["tritongrad"] = info["versions"]["tritongrad"] or tg.__version__
    info["versions"] = {k: v for k, v in info["versions"].items() if v}
    for key in ("TRITONGRAD_MATMUL_CONFIG", "CUDA_VISIBLE_DEVICES"):
        if os.environ.get(key):
            info[key] = os.environ[key]
    return info


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["tritongrad"] = describe()

"""examples/cuda_graph_training.py: eager only (and says why) on the CPU and on emulated CUDA; on a
real GPU the captured step replays to the same losses and weights as the eager run."""
import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import tritongrad as tg

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "cuda_graph_training.py"
REAL_GPU = tg.cuda.is_available() and not tg.cuda.is_emulated()


def load():
    spec = importlib.util.spec_from_file_location("examples_cuda_graph_training", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cpu_trains_eagerly_and_says_graphs_need_a_gpu(capsys):
    r = load().main(["--device", "cpu", "--steps", "5", "--warmup", "1"])
    text = capsys.readouterr().out
    assert "CUDA graphs need a real GPU: on the CPU this program trains eagerly only." in text
    assert r["graph_s"] is None and len(r["losses"]) == 5
    assert 1e7 < r["losses"][0] < 1e8 and r["losses"][-1] < r["losses"][0]  # two_layer_net.py's (b) start


def test_restart_repeats_the_same_run():
    """Eager training restarted from the initial weights gives the same losses: what the graph run relies on."""
    ex = load()
    x, y, w1, w2, init = ex.make_problem("cpu", 0)
    step = ex.make_step(x, y, w1, w2)
    first, _ = ex.train_eager(step, (w1, w2), init, 3, 1, lambda: None)
    second, _ = ex.train_eager(step, (w1, w2), init, 3, 2, lambda: None)
    assert first == second


@pytest.mark.cuda
@pytest.mark.skipif(not tg.cuda.is_emulated(), reason="emulated CUDA only (TRITONGRAD_EMULATE_CUDA=1)")
def test_emulated_cuda_trains_eagerly(capsys):
    ex = load()
    r = ex.main(["--device", "cuda", "--steps", "2", "--warmup", "1"])
    text = capsys.readouterr().out
    assert ("CUDA graphs need a real GPU: on emulated CUDA (Triton's interpreter) this program trains eagerly "
            "only.") in text
    assert r["graph_s"] is None
    cpu = ex.main(["--device", "cpu", "--steps", "2", "--warmup", "1"])
    np.testing.assert_allclose(r["losses"], cpu["losses"], rtol=1e-4)


def test_runs_as_script_on_the_cpu():
    env = dict(os.environ, TRITONGRAD_EMULATE_CUDA="0")
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--device", "cpu", "--steps", "2", "--warmup", "1"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("device: cpu\n") and "trains eagerly only" in proc.stdout


@pytest.mark.cuda
@pytest.mark.skipif(not REAL_GPU, reason="CUDA graphs need a real GPU")
def test_graph_replay_matches_eager(capsys):
    r = load().main(["--device", "cuda", "--steps", "50"])
    text = capsys.readouterr().out
    assert r["graph_s"] is not None and "speed-up: " in text
    # NOTE: the same kernels on the same numbers: equal up to float32 rounding (and atomics, if any)
    np.testing.assert_allclose(r["graph_loss"], r["losses"][-1], rtol=1e-3)
    assert r["weight_diff"] <= 1e-3

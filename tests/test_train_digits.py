"""examples/train_digits.py: the bundled digits data, a short CPU training run that reaches >= 95%
test accuracy, the same first steps on (emulated) CUDA with the CPU's losses, and the script itself
(no scikit-learn, no download, a checkpoint that tg.load reads back).
"""
import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from helpers import TOL

import tritongrad as tg
from tritongrad.data import load_digits

ROOT = pathlib.Path(__file__).resolve().parent.parent
needs_cuda = pytest.mark.skipif(not tg.cuda.is_available(),
                                reason="no CUDA device (set TRITONGRAD_EMULATE_CUDA=1 to emulate one)")


def example():
    spec = importlib.util.spec_from_file_location("examples_train_digits", ROOT / "examples" / "train_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bundled_digits():
    images, labels = load_digits()
    assert images.shape == (1797, 64) and images.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert images.min() == 0 and images.max() == 16
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert (ROOT / "tritongrad" / "data" / "README.md").read_text().count("BSD") == 1


def test_split_is_fixed():
    ex = example()
    x_train, y_train, x_test, y_test = ex.split(0)
    assert x_train.shape == (1438, 64) and x_test.shape == (359, 64)
    again = ex.split(0)
    assert np.array_equal(again[3], y_test) and not np.array_equal(ex.split(1)[3], y_test)
    assert -0.5 <= x_train.min() and x_train.max() <= 0.5


def test_short_cpu_run_reaches_95_percent(capsys):
    result = example().main(["--device", "cpu", "--epochs", "5"])
    out = capsys.readouterr().out
    assert result["accuracy"] >= 0.95, out
    assert result["steps"] == 5 * 23
    losses = result["losses"]
    assert np.mean(losses[-10:]) < 0.3 * np.mean(losses[:10])
    assert "test accuracy: " in out and "[########################]  23/23 batches" in out


@pytest.mark.cuda
@needs_cuda
def test_cuda_steps_match_cpu(capsys):
    """A very short run on CUDA (emulated: slow) against the CPU's run of the same steps."""
    args = ["--max-steps", "2", "--dropout", "0", "--batch-size", "32"]
    cpu = example().main(["--device", "cpu"] + args)
    cuda = example().main(["--device", "cuda"] + args)
    assert cuda["steps"] == 2 and all(p.is_cuda for p in cuda["model"].parameters())
    np.testing.assert_allclose(cuda["losses"], cpu["losses"], **TOL["float32"])
    for p, q in zip(cuda["model"].parameters(), cpu["model"].parameters()):
        np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().numpy(), **TOL["float32"])
    assert abs(cuda["accuracy"] - cpu["accuracy"]) <= 2 / 359
    assert "device cuda" in capsys.readouterr().out


def test_script_runs_without_sklearn_and_saves(tmp_path):
    ckpt = tmp_path / "digits.tg"
    code = ("import runpy, sys; sys.modules['sklearn'] = None; "  # NOTE: importing scikit-learn would fail
            f"sys.argv = ['train_digits.py', '--device', 'cpu', '--epochs', '1', '--save', {str(ckpt)!r}]; "
            f"runpy.run_path({str(ROOT / 'examples' / 'train_digits.py')!r}, run_name='__main__')")
    env = dict(os.environ, TRITONGRAD_EMULATE_CUDA="0")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "test accuracy: " in proc.stdout and f"checkpoint saved to {ckpt}" in proc.stdout
    saved = tg.load(ckpt)
    assert sorted(saved) == ["accuracy", "model", "optimizer"] and 0 < saved["accuracy"] <= 1
    assert list(saved["model"]) == ["0.weight", "0.bias", "3.weight", "3.bias"]
    assert saved["optimizer"]["state"][0]["step"].item() == 23

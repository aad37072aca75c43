"""The package as laid out for users: tritongrad.kernels is the repository's kernels/ (no top-level
`kernels` module involved), one version string, py.typed; and every example explains its options."""
import argparse
import glob
import os
import re
import runpy
import sys

import pytest

import tritongrad as tg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "*.py")))


def test_version_is_the_package_metadata():
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        declared = re.search(r'^version\s*=\s*"([^"]+)"', f.read(), re.MULTILINE).group(1)
    assert tg.__version__ == declared
    assert os.path.isfile(os.path.join(os.path.dirname(tg.__file__), "py.typed"))


def test_kernels_subpackage_is_the_root_kernels_folder():
    pytest.importorskip("triton")
    if not tg.cuda.is_available():
        pytest.skip("importing tritongrad.kernels needs a GPU or TRITONGRAD_EMULATE_CUDA=1")
    import tritongrad.kernels as kernels

    assert os.path.samefile(os.path.dirname(kernels.__file__), os.path.join(ROOT, "kernels"))
    assert "kernels" not in sys.modules  # not through a top-level `kernels` on sys.path
    assert not hasattr(tg, "__path__") or tg.__path__ == [os.path.dirname(tg.__file__)]  # no graft


class _Parser(Exception):
    pass


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_every_example_option_has_help(path, monkeypatch):
    def capture(self, args=None, namespace=None):
        raise _Parser(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    monkeypatch.setattr(sys, "argv", [path])
    with pytest.raises(_Parser) as got:
        runpy.run_path(path, run_name="__main__")
    parser = got.value.args[0]
    options = [a for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]
    assert options, "an example with no options would not take --device"
    assert parser.description
    for action in options:
        assert action.help, f"{os.path.basename(path)}: {action.option_strings[0]} has no help text"

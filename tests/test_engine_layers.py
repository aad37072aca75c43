"""The autograd graph and engine sit below the ops: they import no op and not the package root, and view
history is replayed without recursion."""
import ast
import pathlib

import numpy as np

import tritongrad as tg

AUTOGRAD = pathlib.Path(tg.__file__).parent / "autograd"
GRAPH_AND_ENGINE = ["engine.py", "_engine_args.py", "graph.py", "hooks.py", "anomaly.py", "grad_mode.py", "dot.py"]


def test_graph_and_engine_import_only_downwards():
    for name in GRAPH_AND_ENGINE:
        tree = ast.parse((AUTOGRAD / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                assert node.level == 1, f"{name} imports from the package above autograd/: {ast.unparse(node)}"
                assert node.module is None or node.module.split(".")[0] in {m[:-3] for m in GRAPH_AND_ENGINE}, \
                    f"{name} imports {node.module}, which is not part of the graph and engine"
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("tritongrad") for a in node.names), name


def test_a_view_1500_deep_gets_its_history_back_after_its_base_changes():
    """PyTorch has no limit on a chain of views; replaying one recursively stopped near 990 views."""
    x = tg.tensor(np.arange(1.0, 5.0), requires_grad=True)
    base = x * 1
    v = base
    for _ in range(1500):
        v = v.view(4)
    base.mul_(2)  # the chain's history is now stale: edge() replays it from the base
    (v * v).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 8 * np.arange(1.0, 5.0))

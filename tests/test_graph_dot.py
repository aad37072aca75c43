"""Pictures of the backward graph: tg.autograd.graph.to_dot (Graphviz DOT text) and render (the `dot` program)."""
import re
import shutil

import pytest

import tritongrad as tg

HAS_DOT = shutil.which("dot") is not None


def _tutorial(device="cpu"):
    """The graph of examples/autograd_basics.py: out = mean(3 * (x1 * (x2 + 2)) ** 2)."""
    x1 = tg.ones(2, 2, requires_grad=True, device=device)
    x2 = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, device=device)
    out = ((x1 * (x2 + 2)).pow(2) * 3).mean()
    return x1, x2, out


def _parse(dot):
    """{id: label} and [(src, dst)] from our DOT text."""
    nodes = dict(re.findall(r'^\s+(\w+) \[label="((?:[^"\\]|\\.)*)"', dot, re.M))
    edges = re.findall(r"^\s+(\w+) -> (\w+)$", dot, re.M)
    return {k: v.replace("\\n", "\n") for k, v in nodes.items()}, edges


def test_tutorial_graph(device):
    x1, x2, out = _tutorial(device)
    dot = tg.autograd.graph.to_dot(out, params={"x1": x1, "x2": x2})
    assert dot.startswith("digraph {\n") and dot.endswith("}\n")
    nodes, edges = _parse(dot)
    assert nodes == {
        "out0": "()",
        "n0": "MeanBackward0",
        "n1": "MulBackward0",
        "n2": "PowBackward0\nsaved: (2, 2)",
        "n3": "MulBackward0\nsaved: (2, 2), (2, 2)",
        "n4": "x1\n(2, 2)",
        "n5": "AddBackward0",
        "n6": "x2\n(2, 2)",
    }
    # edges run the way the forward ran: inputs into the op that used them
    assert edges == [("n0", "out0"), ("n1", "n0"), ("n2", "n1"), ("n3", "n2"), ("n4", "n3"), ("n5", "n3"),
                     ("n6", "n5")]
    assert 'n4 [label="x1\\n(2, 2)" fillcolor=lightblue]' in dot
    assert 'out0 [label="()" fillcolor=darkolivegreen1]' in dot


def test_same_structure_as_pytorch(torch):
    """Node names and edges match a walk of PyTorch's graph for the same program."""
    def walk(root, name):
        seen, order, edges = {}, [], []
        queue = [root]
        seen[root] = 0
        order.append(name(root))
        while queue:
            node = queue.pop(0)
            for nxt, _ in node.next_functions:
                if nxt is None:
                    continue
                if nxt not in seen:
                    seen[nxt] = len(order)
                    order.append(name(nxt))
                    queue.append(nxt)
                edges.append((seen[nxt], seen[node]))
        return order, edges

    _, _, out = _tutorial()
    x1 = torch.ones(2, 2, requires_grad=True)
    x2 = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    tout = ((x1 * (x2 + 2)).pow(2) * 3).mean()
    ours = walk(out.grad_fn, lambda n: n.name())
    theirs = walk(tout.grad_fn, lambda n: n.name())
    assert ours == theirs
    nodes, edges = _parse(tg.autograd.graph.to_dot(out))
    assert [nodes[f"n{i}"].split("\n")[0] for i in range(len(ours[0]))] == [
        n if n != "torch::autograd::AccumulateGrad" else "(2, 2)" for n in ours[0]]
    assert [(f"n{a}", f"n{b}") for a, b in ours[1]] == edges[1:]


def test_saved_tensors_freed_and_packed():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.exp()
    assert "ExpBackward0\\nsaved: (3)" in tg.autograd.graph.to_dot(y)
    y.sum().backward()
    assert "ExpBackward0\\n(saved tensors freed)" in tg.autograd.graph.to_dot(y)
    with tg.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        z = x.sin()
    assert "SinBackward0\\nsaved: packed" in tg.autograd.graph.to_dot(z)


def test_several_outputs_share_nodes_and_names():
    w = tg.randn(3, 4, requires_grad=True)
    h = w.relu()
    a, b = h.sum(), (h * 2).mean()
    nodes, edges = _parse(tg.autograd.graph.to_dot([a, b], params={"w": w, "loss_b": b}))
    assert nodes["out0"] == "()" and nodes["out1"] == "loss_b\n()"
    relu = [k for k, v in nodes.items() if v.startswith("ReluBackward0")]
    leaf = [k for k, v in nodes.items() if v == "w\n(3, 4)"]
    assert len(relu) == 1 and len(leaf) == 1  # drawn once, reached from both outputs
    assert sum(1 for e in edges if e[0] == relu[0]) == 2


def test_custom_function_and_leaf_outputs():
    class Twice(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * 2, None

    x = tg.randn(5, requires_grad=True)
    nodes, edges = _parse(tg.autograd.graph.to_dot(Twice.apply(x, 2.0)))
    assert nodes["n0"] == "TwiceBackward\nsaved: (5)" and nodes["n1"] == "(5)" and ("n1", "n0") in edges
    leaf = tg.randn(2, 3, requires_grad=True)
    nodes, edges = _parse(tg.autograd.graph.to_dot(leaf, params={"leaf": leaf}))
    assert nodes == {"out0": "leaf\n(2, 3)"} and edges == []
    assert tg.autograd.graph.to_dot(tg.ones(2)).count("->") == 0  # no graph at all: just the tensor


def test_labels_are_escaped():
    x = tg.randn(2, requires_grad=True)
    dot = tg.autograd.graph.to_dot(x * 2, params={'say "hi"\\': x})
    assert 'label="say \\"hi\\"\\\\\\n(2)"' in dot


def test_render_without_dot_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    _, _, out = _tutorial()
    with pytest.raises(RuntimeError, match="Graphviz's `dot` program, which was not found on PATH. Install "
                                           r"Graphviz \(apt-get install graphviz, conda install graphviz"):
        tg.autograd.graph.render(out, str(tmp_path / "g"))


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot program is not installed")
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_render(tmp_path, fmt):
    x1, x2, out = _tutorial()
    image = tg.autograd.graph.render(out, str(tmp_path / "tutorial"), format=fmt, params={"x1": x1, "x2": x2})
    assert image == str(tmp_path / f"tutorial.{fmt}")
    data = (tmp_path / f"tutorial.{fmt}").read_bytes()
    assert data.startswith(b"\x89PNG") if fmt == "png" else b"MulBackward0" in data
    assert (tmp_path / "tutorial.dot").read_text() == tg.autograd.graph.to_dot(out, params={"x1": x1, "x2": x2})

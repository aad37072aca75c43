"""A picture of the backward graph: Graphviz DOT text, and rendering it with Graphviz's `dot` program.

`to_dot(out)` draws what `out.grad_fn.next_functions` links, as torchviz's `make_dot` does: one
box per node, named by `node.name()`, with the shapes of the tensors it saved for backward; one
blue box per leaf (its AccumulateGrad node) with the leaf's shape and, given `params={'w1': w1}`,
its name; a green box for each output; edges point the way the forward computation ran (from an
input's node to the node that consumed it).

Example:
    >>> print(tg.autograd.graph.to_dot(loss, params={"w1": w1, "w2": w2}))
    >>> tg.autograd.graph.render(loss, "loss_graph", format="svg")   # loss_graph.svg, needs Graphviz
"""
import os
import shutil
import subprocess

_HEADER = ['digraph {', '    graph [size="12,12"]',
           '    node [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]']


def _shape(shape):
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _saved_shapes(node):
    """The shapes of the tensors `node` saved for backward ('packed' under saved_tensors_hooks)."""
    shapes = []
    for s in node._saved or ():
        if s is not None:
            shapes.append(_shape(s.tensor.shape) if s.tensor is not None else "packed")
    return shapes


def _is_leaf(node):
    """A leaf's AccumulateGrad node (known by its `variable`, as torchviz knows it: graph.py imports us)."""
    return hasattr(node, "variable")


def _label(node, names):
    if _is_leaf(node):
        var = node.variable
        name = names.get(id(var))
        return (f"{name}\n" if name else "") + _shape(var.shape)
    label = node.name()
    if node._freed:
        return label + "\n(saved tensors freed)"
    shapes = _saved_shapes(node)
    return label + ("\nsaved: " + ", ".join(shapes) if shapes else "")


def to_dot(tensor, params=None):
    """Graphviz DOT text of the backward graph behind `tensor` (a Tensor or a sequence of Tensors).

    Args:
        tensor: the output(s) whose graph to draw, e.g. the loss.
        params: optional {name: leaf tensor}; those leaves are labelled with their names.

    Returns:
        The DOT source as a string; node ids (n0, n1, ...) follow a deterministic walk from the outputs.
    """
    outputs = tuple(tensor) if isinstance(tensor, (tuple, list)) else (tensor,)
    names = {id(t): name for name, t in (params or {}).items()}
    ids, lines, edges = {}, list(_HEADER), []

    def node_id(node):
        if node not in ids:
            ids[node] = f"n{len(ids)}"
            color = "lightblue" if _is_leaf(node) else "lightgrey"
            lines.append(f"    {ids[node]} [label={_quote(_label(node, names))} fillcolor={color}]")
            stack.append(node)
        return ids[node]

    stack = []
    for k, out in enumerate(outputs):
        name = names.get(id(out))
        out_id = f"out{k}"
        lines.append(f"    {out_id} [label={_quote((name + chr(10) if name else '') + _shape(out.shape))} "
                     "fillcolor=darkolivegreen1]")
        if out.grad_fn is not None:  # NOTE: a leaf is drawn as its output box only, as torchviz does
            edges.append(f"    {node_id(out.grad_fn)} -> {out_id}")
        while stack:
            node = stack.pop(0)
            for nxt, _ in node.next_functions:
                if nxt is not None:
                    edges.append(f"    {node_id(nxt)} -> {ids[node]}")
    return "\n".join(lines + edges + ["}"]) + "\n"


def render(tensor, path, format="svg", params=None):
    """Draw the backward graph behind `tensor` to an image with Graphviz's `dot` program.

    Args:
        tensor, params: as in to_dot.
        path: the output file; `.{format}` is added when missing. The DOT source is written next to it
            (same name, `.dot`).
        format: any output format `dot -T` accepts, e.g. 'svg' or 'png'.

    Returns:
        The path of the image.
    """
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError("rendering the graph needs Graphviz's `dot` program, which was not found on PATH. "
                           "Install Graphviz (apt-get install graphviz, conda install graphviz, or brew install "
                           "graphviz), or write tg.autograd.graph.to_dot(...) to a .dot file and render it "
                           "elsewhere.")
    image = path if path.endswith("." + format) else f"{path}.{format}"
    source = os.path.splitext(image)[0] + ".dot"
    with open(source, "w") as f:
        f.write(to_dot(tensor, params))
    done = subprocess.run([exe, f"-T{format}", source, "-o", image], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"dot -T{format} failed: {done.stderr.strip()}")
    return image

"""Autograd basics: leaves, grad_fn, the backward graph and the gradients it computes.

The first program of PyTorch's autograd tutorials, run with tritongrad:

    python examples/autograd_basics.py            # on CUDA when available, else the CPU
    python examples/autograd_basics.py --device cpu

Part 1: y = mean(x) over a 2x2 tensor of ones; dy/dx = 1/4 everywhere.
Part 2: out = mean(3 * (x1 * (x2 + 2))^2); we walk `out.grad_fn.next_functions` down to the leaves'
AccumulateGrad nodes, write that graph as a Graphviz picture (--graph; an SVG when Graphviz is
installed), then backpropagate and print the gradients of z, y (kept with retain_grad()) and of the
leaves x2 and x1.
"""
import argparse
import os
import shutil
import tempfile

import tritongrad as tg


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if tg.cuda.is_available() else "cpu",
                        help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--graph", default=os.path.join(tempfile.gettempdir(), "autograd_basics_graph.dot"),
                        help="where to write the backward graph as Graphviz DOT (an .svg goes next to it when "
                             "Graphviz's dot program is installed)")
    return parser.parse_args(argv)


def walk(node, depth=0):
    """Print the backward graph below `node`, one node per line, indented by depth.

    Each node's `next_functions` holds one (node, output_nr) pair per input of the forward op:
    (None, 0) for an input that needs no gradient (the constants 2 and 3 here), and the leaf's
    AccumulateGrad node for a leaf that requires grad; AccumulateGrad.variable is that leaf.
    """
    indent = "    " * depth
    if node is None:
        print(f"{indent}None  (an input that needs no gradient)")
        return
    print(f"{indent}{node.name()}")
    if isinstance(node, tg.autograd.graph.AccumulateGrad):
        print(f"{indent}    .variable:")
        for line in repr(node.variable).splitlines():
            print(f"{indent}        {line}")
    for next_node, _output_nr in node.next_functions:
        walk(next_node, depth + 1)


def write_graph(out, params, path):
    """Write the graph behind `out` as Graphviz DOT to `path`; also render an SVG when `dot` is installed.

    Returns the SVG's path, or the DOT file's when Graphviz is missing (`dot -Tsvg FILE -o FILE.svg` draws it).
    """
    with open(path, "w") as f:
        f.write(tg.autograd.graph.to_dot(out, params=params))
    if shutil.which("dot") is None:
        return path
    return tg.autograd.graph.render(out, os.path.splitext(path)[0], format="svg", params=params)


def main(argv=None):
    """Run both parts; returns the tensors the tutorial prints, for tests."""
    args = parse_args(argv)
    device = args.device
    print(f"device: {device}")

    # Part 1: a leaf that requires grad, and the mean of it.
    print("\n== Part 1: y = x.mean() ==")
    x = tg.ones(2, 2, requires_grad=True, device=device)
    print("x =", x)
    y = x.mean()
    print("y =", y)
    print("y.grad_fn =", y.grad_fn)
    y.backward()
    print("x.grad =", x.grad)  # d mean / dx = 1 / numel = 0.25

    # Part 2: a longer chain, with gradients kept for the intermediate results too.
    print("\n== Part 2: out = (3 * (x1 * (x2 + 2)) ** 2).mean() ==")
    x1 = tg.ones(2, 2, requires_grad=True, device=device)
    x2 = tg.tensor([[1., 2.], [3., 4.]], requires_grad=True, device=device)
    y = x1 * (x2 + 2)
    z = y.pow(2) * 3
    out = z.mean()
    # NOTE: y and z are not leaves, so backward() does not keep their .grad unless asked to.
    y.retain_grad()
    z.retain_grad()
    print("y =", y)
    print("z =", z)
    print("out =", out)

    print("\nThe backward graph, from out.grad_fn down to the leaves:")
    walk(out.grad_fn)

    # Graph picture (Graphviz): the graph walked above, as DOT text and as an SVG when `dot` exists.
    # NOTE: drawn before backward(), which frees the saved tensors whose shapes the picture shows.
    picture = write_graph(out, {"x1": x1, "x2": x2}, args.graph)

    out.backward()
    print("\nGradients after out.backward():")
    print("z.grad =", z.grad)    # d out / dz = 1/4
    print("y.grad =", y.grad)    # 1/4 * 3 * 2y = 1.5 y
    print("x2.grad =", x2.grad)  # 1.5 y * x1
    print("x1.grad =", x1.grad)  # 1.5 y * (x2 + 2)
    print(f"\nThe backward graph as a picture: {picture}")
    return {"graph": picture, "x_grad": x.grad, "y": y, "z": z, "out": out,
            "z_grad": z.grad, "y_grad": y.grad, "x2_grad": x2.grad, "x1_grad": x1.grad}


if __name__ == "__main__":
    main()

"""Minimising the Rosenbrock function with autograd and gradient descent written by hand.

    f(x1, x2) = (1 - x1)^2 + 5 (x2 - x1^2)^2,    minimum f(1, 1) = 0

Start from x = (-1, 1); each iteration computes f, backpropagates, and steps
x <- x - lr * grad f(x) with lr = 0.01 inside `no_grad()` (the update itself must not be recorded),
then zeroes the gradient (backward() adds into .grad). After 1000 iterations (float32):
f = 6.9080e-05 at x = (0.9918, 0.9830), the same digits PyTorch prints for this program.

    python examples/rosenbrock.py [--device cpu] [--iterations 1000] [--lr 0.01]
"""
import argparse

import tritongrad as tg


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if tg.cuda.is_available() else "cpu",
                        help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--iterations", type=int, default=1000, help="gradient descent steps (default 1000)")
    parser.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
    parser.add_argument("--print-every", type=int, default=100,
                        help="print f(x) every this many iterations (default 100)")
    return parser.parse_args(argv)


def rosenbrock(x):
    """f(x) = (1 - x[0])^2 + 5 (x[1] - x[0]^2)^2 for a tensor x of two elements."""
    return (1 - x[0]) ** 2 + 5 * (x[1] - x[0] ** 2) ** 2


def minimize(x, lr, iterations, print_every):
    """Gradient descent on rosenbrock(x), updating the leaf `x` in place; returns x."""
    for i in range(iterations):
        f = rosenbrock(x)
        f.backward()
        if i % print_every == 0:
            x1, x2 = x.tolist()
            g1, g2 = x.grad.tolist()
            print(f"iter {i:4d}: f(x) = {f.item():.4e}  x = ({x1:8.4f}, {x2:8.4f})  "
                  f"grad = ({g1:8.4f}, {g2:8.4f})")
        # NOTE: no_grad() because x is a leaf that requires grad: an in-place update of it outside
        # no_grad() is an error, and the step is not part of the function being differentiated.
        with tg.no_grad():
            x -= lr * x.grad
        x.grad.zero_()
    return x


def main(argv=None):
    """Run the minimisation; returns (final f value, final x as a list), for tests."""
    args = parse_args(argv)
    print(f"device: {args.device}")
    x = tg.tensor([-1.0, 1.0], requires_grad=True, device=args.device)
    minimize(x, args.lr, args.iterations, args.print_every)
    with tg.no_grad():
        f = rosenbrock(x).item()
    x1, x2 = x.tolist()
    print(f"after {args.iterations} iterations: f(x) = {f:.4e} at x = ({x1:.4f}, {x2:.4f})")
    return f, [x1, x2]


if __name__ == "__main__":
    main()

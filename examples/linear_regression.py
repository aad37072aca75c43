"""Linear regression by gradient descent with autograd: recover b0 = b1 = 1.

Data: n = 200 points y = b0 + b1 x + e with b0 = b1 = 1, x ~ N(0, 1) and noise e ~ N(0, 0.25),
that is variance 0.25 (standard deviation 0.5). The fit minimises the mean squared error
mean((b0 + b1 x - y)^2) by plain gradient descent on the two parameters, with gradients from
autograd, and prints the fitted b0, b1 next to the exact least-squares solution (which the descent
must reach) and the true values (which it reaches within the noise: about 0.5 / sqrt(200) = 0.035).

    python examples/linear_regression.py [--device cpu] [--n 200] [--epochs 100] [--lr 0.1]
"""
import argparse

import tritongrad as tg


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if tg.cuda.is_available() else "cpu",
                        help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--n", type=int, default=200, help="number of data points (default 200)")
    parser.add_argument("--epochs", type=int, default=100, help="gradient descent steps on all points (default 100)")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate (default 0.1)")
    parser.add_argument("--seed", type=int, default=42, help="random seed of the data (default 42)")
    parser.add_argument("--print-every", type=int, default=10,
                        help="print the loss every this many epochs (default 10)")
    return parser.parse_args(argv)


def make_data(n, seed):
    """x, y on the CPU: y = 1 + x + e, x ~ N(0, 1), e ~ N(0, 0.25) (standard deviation 0.5)."""
    tg.manual_seed(seed)
    x = tg.randn(n)
    e = tg.randn(n) * 0.5
    return x, 1 + x + e


def least_squares(x, y):
    """The exact minimiser of mean((b0 + b1 x - y)^2): b1 = cov(x, y) / var(x), b0 = mean(y) - b1 mean(x)."""
    dx, dy = x - x.mean(), y - y.mean()
    b1 = (dx * dy).sum() / (dx * dx).sum()
    b0 = y.mean() - b1 * x.mean()
    return b0.item(), b1.item()


def main(argv=None):
    """Fit the line; returns (b0, b1, exact b0, exact b1), for tests."""
    args = parse_args(argv)
    print(f"device: {args.device}")
    # NOTE: drawn on the CPU and copied, so that every device fits the very same data.
    x, y = (t.to(args.device) for t in make_data(args.n, args.seed))
    b0 = tg.zeros((), requires_grad=True, device=args.device)
    b1 = tg.zeros((), requires_grad=True, device=args.device)
    for epoch in range(args.epochs):
        loss = (b0 + b1 * x - y).pow(2).mean()
        loss.backward()
        if epoch % args.print_every == 0:
            print(f"epoch {epoch:4d}: loss {loss.item():.6f}  b0 {b0.item():.4f}  b1 {b1.item():.4f}")
        with tg.no_grad():
            b0 -= args.lr * b0.grad
            b1 -= args.lr * b1.grad
        b0.grad.zero_()
        b1.grad.zero_()
    fit = b0.item(), b1.item()
    exact = least_squares(x, y)
    print(f"fitted by gradient descent: b0 = {fit[0]:.4f}, b1 = {fit[1]:.4f}")
    print(f"exact least squares:        b0 = {exact[0]:.4f}, b1 = {exact[1]:.4f}")
    print("true values:                b0 = 1.0000, b1 = 1.0000 (noise standard deviation 0.5, n = "
          f"{args.n})")
    return fit[0], fit[1], exact[0], exact[1]


if __name__ == "__main__":
    main()

"""Two-layer ReLU networks trained with autograd and SGD written by hand.

Both networks of the tutorials, on CUDA when available (else the CPU):

(a) small:  3 -> 32 -> 1 on 100 samples, target y = x1^2 + x2^2 + x3^2, mean squared error,
            lr 1e-4, 200 steps: the loss falls slowly (52.1 -> 11.1 with the default seed).
(b) large:  1000 -> 100 -> 10 on 64 samples of random data, sum-of-squares loss
            `(y_pred - y).pow(2).sum()`, lr 1e-6, 500 steps: the loss falls from 2.9e7 to 3.0e-5
            with the default seed.
(Both as PyTorch prints them for the same program and seed: the CPU generator reproduces its
numbers, and the losses agree to float32 rounding.)

Each step is the whole training loop of the tutorial: forward `x.mm(w1).clamp(min=0).mm(w2)`,
`loss.backward()`, the update `w -= lr * w.grad` inside `no_grad()`, and `w.grad.zero_()`.
The program prints the device, the loss every 100 steps and the time per step.

    python examples/two_layer_net.py [--device cpu] [--steps 500] [--net both|small|large]
"""
import argparse
import time

import tritongrad as tg


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if tg.cuda.is_available() else "cpu",
                        help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--net", choices=["both", "small", "large"], default="both",
                        help="which network to train: (a) small, (b) large, or both (default)")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps for each network (default: 200 small, 500 large)")
    parser.add_argument("--print-every", type=int, default=100,
                        help="print the loss every this many steps (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the data and weights (default 0)")
    return parser.parse_args(argv)


def small_problem(seed):
    """(x, y, w1, w2) of network (a), all float32 on the CPU: 100 samples of 3 features."""
    tg.manual_seed(seed)
    x = tg.randn(100, 3)
    y = x.pow(2).sum(1, keepdim=True)
    return x, y, tg.randn(3, 32), tg.randn(32, 1)


def large_problem(seed):
    """(x, y, w1, w2) of network (b), all float32 on the CPU: 64 samples, 1000 -> 100 -> 10."""
    tg.manual_seed(seed)
    x, y = tg.randn(64, 1000), tg.randn(64, 10)
    return x, y, tg.randn(1000, 100), tg.randn(100, 10)


def train(x, y, w1, w2, lr, steps, loss_fn, print_every=100):
    """SGD on the two-layer net; updates w1 and w2 in place; returns (losses, seconds per step).

    `losses` is the loss at every step, read back as Python floats only at the end: reading it
    each step would wait for the device each step.
    """
    losses = []
    sync = tg.cuda.synchronize if x.is_cuda else (lambda: None)
    sync()
    start = time.perf_counter()
    for t in range(steps):
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        loss = loss_fn(y_pred, y)
        losses.append(loss.detach())
        if t % print_every == print_every - 1 or t == 0:
            print(f"  step {t:4d}  loss {loss.item():.6g}")
        loss.backward()
        # NOTE: the update goes under no_grad(): w1 and w2 are leaves that require grad, and the
        # step itself must not become part of the graph of the next iteration.
        with tg.no_grad():
            w1 -= lr * w1.grad
            w2 -= lr * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
        if t == 0:  # NOTE: the first step compiles the kernels on CUDA: time the steps after it
            sync()
            start = time.perf_counter()
    sync()
    per_step = (time.perf_counter() - start) / max(steps - 1, 1)
    return [loss.item() for loss in losses], per_step


def mse(y_pred, y):
    return (y_pred - y).pow(2).mean()


def sum_of_squares(y_pred, y):
    return (y_pred - y).pow(2).sum()


def run(name, problem, lr, steps, loss_fn, device, seed, print_every):
    """Build a problem on `device`, train it, print the summary; returns the losses."""
    # NOTE: the data and initial weights are drawn on the CPU and then copied, so that every device
    # trains the very same network (each device has its own random generator).
    x, y, w1, w2 = (t.to(device) for t in problem(seed))
    w1.requires_grad_(True)
    w2.requires_grad_(True)
    print(f"{name}: {tuple(x.shape)} -> {w1.shape[1]} -> {w2.shape[1]}, lr {lr}, {steps} steps")
    losses, per_step = train(x, y, w1, w2, lr, steps, loss_fn, print_every)
    if losses:
        print(f"  loss {losses[0]:.6g} -> {losses[-1]:.6g}; {per_step * 1e3:.3f} ms per step on {device} "
              "(after the first)")
    return losses


def main(argv=None):
    """Train the chosen networks; returns {"small": losses, "large": losses}, for tests."""
    args = parse_args(argv)
    print(f"device: {args.device}" + (" (emulated)" if args.device == "cuda" and tg.cuda.is_emulated() else ""))
    results = {}
    if args.net in ("both", "small"):
        steps = 200 if args.steps is None else args.steps
        results["small"] = run("(a) small network", small_problem, 1e-4, steps, mse, args.device, args.seed,
                               args.print_every)
    if args.net in ("both", "large"):
        steps = 500 if args.steps is None else args.steps
        results["large"] = run("(b) large network", large_problem, 1e-6, steps, sum_of_squares, args.device,
                               args.seed, args.print_every)
    return results


if __name__ == "__main__":
    main()

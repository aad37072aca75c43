"""Training the tutorial network with a training step captured once as a CUDA graph and replayed.

The 1000 -> 100 -> 10 network of two_layer_net.py (64 samples, sum-of-squares loss, lr 1e-6):
each step is forward, `loss.backward()`, `w -= lr * w.grad` under no_grad and `w.grad.zero_()`,
about 20 kernel launches, each with its Python dispatch. Captured with tg.cuda.CUDAGraph, the
whole step replays as one graph launch:

    step()                          # warm-up: compiles every kernel, creates every .grad
    g = tg.cuda.CUDAGraph()
    with tg.cuda.graph(g):
        static_loss = step()        # captured, not run: static_loss lives in the graph's memory
    g.replay()                      # one training step on the same tensors; static_loss updated

As in PyTorch, a replay reads and writes the very tensors the capture saw: x, y, w1, w2 and their
.grad stay where they are (refill them in place with copy_()). The program trains from the same
initial weights twice, eagerly and with the graph, and prints the time per step of each, the
speed-up, and how far apart the two runs end (the same kernels on the same numbers: they agree).

CUDA graphs need a real GPU: on the CPU, or on emulated CUDA, the program says so and trains
eagerly only.

    python examples/cuda_graph_training.py [--device cuda] [--steps 500] [--warmup 3]
"""
import argparse
import time

import tritongrad as tg

LR = 1e-6


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if tg.cuda.is_available() else "cpu",
                        help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--steps", type=int, default=500,
                        help="training steps, eager and then in the graph (default 500)")
    parser.add_argument("--warmup", type=int, default=3, help="eager steps before timing and before capturing")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the data and weights (default 0)")
    return parser.parse_args(argv)


def make_problem(device, seed):
    """Static (x, y, w1, w2) on `device` and the initial weights to restart from."""
    tg.manual_seed(seed)
    # NOTE: drawn on the CPU, then copied: every device trains the very same network
    x, y, w1, w2 = (t.to(device) for t in (tg.randn(64, 1000), tg.randn(64, 10), tg.randn(1000, 100),
                                           tg.randn(100, 10)))
    init = (w1.clone(), w2.clone())
    return x, y, w1.requires_grad_(), w2.requires_grad_(), init


def make_step(x, y, w1, w2):
    """One whole training step on the static tensors; returns the loss (before the update)."""
    def step():
        loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
        loss.backward()
        with tg.no_grad():
            for w in (w1, w2):  # NOTE: a loop variable: `w1 -= ...` here would make w1 local to step()
                w -= LR * w.grad
                w.grad.zero_()
        return loss
    return step


def restart(weights, init):
    """Put the initial weights back in place (the graph keeps their addresses) and zero the grads."""
    with tg.no_grad():
        for w, w0 in zip(weights, init):
            w.copy_(w0)
            if w.grad is not None:
                w.grad.zero_()


def timed(run, steps, sync):
    """Seconds per call of `run` over `steps` calls, the device synchronized before and after."""
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        run()
    sync()
    return (time.perf_counter() - start) / max(steps, 1)


def train_eager(step, weights, init, steps, warmup, sync):
    for _ in range(warmup):
        step()  # NOTE: compiles the kernels: not timed
    restart(weights, init)
    losses = []
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        losses.append(step().detach())
    sync()
    return [loss.item() for loss in losses], (time.perf_counter() - start) / max(steps, 1)


def train_graph(step, weights, init, steps, warmup):
    """Capture `step` after `warmup` eager steps, then replay it `steps` times from the initial weights.

    Returns (final loss, seconds per replayed step).
    """
    for _ in range(warmup):
        step()
    restart(weights, init)
    g = tg.cuda.CUDAGraph()
    with tg.cuda.graph(g):
        static_loss = step()
    per_step = timed(g.replay, steps, tg.cuda.synchronize)
    return static_loss.item(), per_step


def main(argv=None):
    """Train eagerly and, on a real GPU, with a CUDA graph; returns a dict of the results, for tests."""
    args = parse_args(argv)
    emulated = args.device.startswith("cuda") and tg.cuda.is_emulated()
    print(f"device: {args.device}" + (" (emulated)" if emulated else ""))
    x, y, w1, w2, init = make_problem(args.device, args.seed)
    weights, step = (w1, w2), make_step(x, y, w1, w2)
    sync = tg.cuda.synchronize if x.is_cuda else (lambda: None)
    print(f"network: {tuple(x.shape)} -> {w1.shape[1]} -> {w2.shape[1]}, lr {LR}, {args.steps} steps")
    losses, eager = train_eager(step, weights, init, args.steps, args.warmup, sync)
    result = dict(losses=losses, eager_s=eager, graph_s=None, graph_loss=None)
    print(f"eager:      {eager * 1e3:.3f} ms per step; loss {losses[0]:.6g} -> {losses[-1]:.6g}")
    if not x.is_cuda or emulated:
        where = "emulated CUDA (Triton's interpreter)" if emulated else "the CPU"
        print(f"CUDA graphs need a real GPU: on {where} this program trains eagerly only.")
        return result
    eager_w = [w.detach().clone() for w in weights]
    graph_loss, graph = train_graph(step, weights, init, args.steps, args.warmup)
    diff = max((w.detach() - e).abs().max().item() for w, e in zip(weights, eager_w))
    print(f"CUDA graph: {graph * 1e3:.3f} ms per step; last loss {graph_loss:.6g} (eager: {losses[-1]:.6g}); "
          f"weights differ by at most {diff:.3g}")
    print(f"speed-up: {eager / graph:.2f}x")
    result.update(graph_s=graph, graph_loss=graph_loss, weight_diff=diff)
    return result


if __name__ == "__main__":
    main()

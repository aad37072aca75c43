"""Train an MLP on real data: the 1,797 handwritten 8x8 digits bundled with tritongrad.

The digits are scikit-learn's `load_digits()` set, shipped inside the package
(`tritongrad/data/digits.csv.gz`: no download, no scikit-learn). 80% train (1,438 images), 20% test
(359 images), a split fixed by the seed; pixels scaled to [-0.5, 0.5]. The model and the training
loop use tritongrad's PyTorch-style API:

    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, 10))
    loss = nn.CrossEntropyLoss()(model(x), labels)      # fused log-softmax kernel on CUDA
    opt.zero_grad(); loss.backward(); opt.step()         # AdamW: one fused kernel per parameter

With the defaults (20 epochs, AdamW lr 3e-3, batch 64, seed 0) the test accuracy ends at 97.5%
(96-97.5% for seeds 0-4).
It runs on CUDA when there is a GPU, else on the CPU (about a second); `--save PATH` writes a
checkpoint with tg.save.

    python examples/train_digits.py [--epochs 20] [--device cpu|cuda] [--batch-size 64] [--lr 3e-3]
"""
import argparse
import sys
import time

import numpy as np

import tritongrad as tg
from tritongrad import nn
from tritongrad.data import load_digits


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="passes over the training set (default 20)")
    parser.add_argument("--device", default="cuda" if tg.cuda.is_available() else "cpu",
                        help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--batch-size", type=int, default=64, help="samples per optimizer step (default 64)")
    parser.add_argument("--lr", type=float, default=3e-3, help="AdamW learning rate (default 3e-3)")
    parser.add_argument("--hidden", type=int, default=128, help="width of the hidden layers (default 128)")
    parser.add_argument("--dropout", type=float, default=0.1, help="dropout probability in training (default 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the split, weights and batches (default 0)")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps")
    parser.add_argument("--save", default=None, help="write a checkpoint (model, optimizer, accuracy) here")
    return parser.parse_args(argv)


def split(seed=0, test_fraction=0.2):
    """(x_train, y_train, x_test, y_test) as NumPy arrays: pixels scaled to [-0.5, 0.5], a fixed split."""
    images, labels = load_digits()
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(round(len(labels) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    images = images / 16.0 - 0.5  # NOTE: centred inputs train faster
    return images[train], labels[train], images[test], labels[test]


def build_model(hidden, dropout, seed):
    """The MLP, initialised on the CPU (so that every device starts from the same weights)."""
    tg.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 10))


def progress(epoch, epochs, done, total, loss, width=24):
    """One line of text progress bar, redrawn in place with a carriage return."""
    filled = width * done // max(total, 1)
    bar = "#" * filled + "-" * (width - filled)
    sys.stdout.write(f"\repoch {epoch:3d}/{epochs} [{bar}] {done:3d}/{total} batches  loss {loss:.4f}")
    sys.stdout.flush()


def evaluate(model, x, y):
    """Accuracy (a fraction) of model on tensors x (N, 64) and y (N,)."""
    model.eval()
    with tg.no_grad():
        correct = (model(x).argmax(1) == y).sum().item()
    model.train()
    return correct / len(y)


def main(argv=None):
    args = parse_args(argv)
    device = args.device
    x_train, y_train, x_test, y_test = split(args.seed)
    model = build_model(args.hidden, args.dropout, args.seed).to(device)
    loss_fn = nn.CrossEntropyLoss()
    opt = tg.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    xt = tg.tensor(x_test, device=device)
    yt = tg.tensor(y_test, device=device)
    print(f"device {device}: {len(y_train)} training and {len(y_test)} test images, model:\n{model}")

    rng = np.random.default_rng(args.seed)
    n, bs = len(y_train), args.batch_size
    batches = (n + bs - 1) // bs
    losses, step, first, start = [], 0, 0.0, time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        # NOTE: shuffle on the host and upload the epoch once; batches are then views (slices)
        order = rng.permutation(n)
        xe = tg.tensor(x_train[order], device=device)
        ye = tg.tensor(y_train[order], device=device)
        total = None
        for b in range(batches):
            x, y = xe[b * bs:(b + 1) * bs], ye[b * bs:(b + 1) * bs]
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.detach())
            total = loss.detach() if total is None else total + loss.detach()
            step += 1
            if step == 1:  # NOTE: the first step compiles the kernels on CUDA: timed apart
                loss.item()
                first = time.perf_counter() - start
            if b % 8 == 7 or b == batches - 1 or step == args.max_steps:
                progress(epoch, args.epochs, b + 1, batches, total.item() / (b + 1))  # NOTE: .item() syncs
            if step == args.max_steps:
                break
        sys.stdout.write("\n")
        if step == args.max_steps:
            break
    seconds = time.perf_counter() - start
    accuracy = evaluate(model, xt, yt)
    print(f"trained {step} steps in {seconds:.2f} s: the first in {first:.2f} s (it compiles the kernels on CUDA), "
          f"then {1e3 * (seconds - first) / max(step - 1, 1):.2f} ms per step")
    print(f"test accuracy: {100 * accuracy:.2f}% ({round(accuracy * len(y_test))}/{len(y_test)})")
    if args.save:
        tg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "accuracy": accuracy}, args.save)
        print(f"checkpoint saved to {args.save}")
    return {"accuracy": accuracy, "losses": [t.item() for t in losses], "steps": step, "model": model}


if __name__ == "__main__":
    main()

"""The gradient of a linear model, by hand and by autograd: the same numbers, bit for bit.

Model: predicted = X @ w with X of shape (n, 3) and w of shape (3, 1); loss = sum((predicted - real)^2).
By hand: d loss / d predicted = 2 (predicted - real), so d loss / d w = X^T @ (2 (predicted - real)).
That is exactly what autograd computes (pow's backward gives 1 * 2 * (predicted - real), the
subtraction passes it on, mm's backward multiplies by X^T), in the same order, so the two agree
exactly: `tg.eq(manual, w.grad).all()` prints tensor(True). The manual gradient is computed inside
`no_grad()`: it is a plain computation that must not be recorded.

Then the two ways of switching autograd off for a tensor: `detach_()` (a computed tensor becomes a
leaf that does not require grad) and `requires_grad_(False)` (a leaf stops requiring grad).

    python examples/manual_vs_autograd.py [--device cpu] [--steps 50]
"""
import argparse

import tritongrad as tg


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if tg.cuda.is_available() else "cpu",
                        help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--n", type=int, default=50, help="number of rows of X (default 50)")
    parser.add_argument("--steps", type=int, default=50,
                        help="gradient steps, each comparing the two gradients (default 50)")
    parser.add_argument("--lr", type=float, default=1e-3, help="learning rate (default 1e-3)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the data and weights (default 0)")
    return parser.parse_args(argv)


def make_data(n, seed):
    """X (n, 3), real (n, 1) = X @ (2, -3.4, 1.7)^T + noise, and a random start w (3, 1); on the CPU."""
    tg.manual_seed(seed)
    X = tg.randn(n, 3)
    w_true = tg.tensor([[2.0], [-3.4], [1.7]])
    real = X.mm(w_true) + 0.1 * tg.randn(n, 1)
    return X, real, tg.randn(3, 1)


def manual_gradient(X, w, real):
    """d/dw sum((X @ w - real)^2) = X^T @ (2 (X @ w - real)), without autograd."""
    with tg.no_grad():
        predicted = X.mm(w)
        return X.t().mm(2 * (predicted - real))


def main(argv=None):
    """Compare the gradients over a few descent steps; returns a dict of the booleans printed, for tests."""
    args = parse_args(argv)
    print(f"device: {args.device}")
    # NOTE: drawn on the CPU and copied, so that every device sees the very same numbers.
    X, real, w0 = (t.to(args.device) for t in make_data(args.n, args.seed))

    # Two copies of the same start: one descends with autograd's gradient, one with the manual one.
    w = w0.clone().requires_grad_(True)
    w_manual = w0.clone()
    all_equal = first_equal = True
    for step in range(args.steps):
        predicted = X.mm(w)
        loss = (predicted - real).pow(2).sum()
        loss.backward()
        manual = manual_gradient(X, w_manual, real)
        same = tg.eq(manual, w.grad).all()
        all_equal = all_equal and same.item()
        if step == 0:
            print("autograd gradient:", w.grad.flatten())
            print("manual gradient:  ", manual.flatten())
            print("tg.eq(manual, w.grad).all() =", same)
            first_equal = same.item()
        with tg.no_grad():
            w -= args.lr * w.grad
            w_manual -= args.lr * manual
        w.grad.zero_()
    same_w = tg.equal(w.detach(), w_manual)
    print(f"the gradients were equal at all {args.steps} steps: {all_equal}; "
          f"final weights equal: {same_w}; final loss {loss.item():.4f}")

    # detach_(): a computed tensor is cut from its graph in place and becomes a leaf.
    predicted = X.mm(w)
    print("\npredicted.grad_fn =", predicted.grad_fn, " is_leaf =", predicted.is_leaf)
    predicted.detach_()
    print("after predicted.detach_(): grad_fn =", predicted.grad_fn, " requires_grad =",
          predicted.requires_grad, " is_leaf =", predicted.is_leaf)

    # requires_grad_(False): a leaf stops requiring grad, so what is computed from it has no graph.
    w.requires_grad_(False)
    print("after w.requires_grad_(False): X.mm(w).requires_grad =", X.mm(w).requires_grad)
    w.requires_grad_(True)
    print("after w.requires_grad_(True):  X.mm(w).grad_fn =", X.mm(w).grad_fn)
    return {"first_equal": first_equal, "all_equal": all_equal, "weights_equal": same_w,
            "final_loss": loss.item(), "detached_is_leaf": predicted.is_leaf}


if __name__ == "__main__":
    main()

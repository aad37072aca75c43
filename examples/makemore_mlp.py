"""makemore, part 2: a character-level MLP language model over names (after Karpathy's lecture).

Three characters of context, each looked up in an embedding table C (C[X]), a tanh hidden layer,
cross-entropy over the next character, manual SGD on p.data; then names sampled one character
at a time with torch.multinomial. Every random number (initial weights, minibatches, samples)
comes from seeded torch.Generators, so the same program prints the same losses and names under
PyTorch and under tritongrad, whose CPU generator reproduces PyTorch's stream:

    python examples/makemore_mlp.py --framework torch
    python examples/makemore_mlp.py --framework tritongrad [--device cuda]

The data is examples/data/names.txt (made-up names; see examples/data/make_names.py).
"""
import argparse
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--framework", choices=("tritongrad", "torch"), default="tritongrad",
                    help="run with `import tritongrad as torch` (default) or with PyTorch itself")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    ap.add_argument("--steps", type=int, default=20000, help="SGD steps (default: 20000)")
    ap.add_argument("--batch-size", type=int, default=32, help="minibatch size (default: 32)")
    ap.add_argument("--print-every", type=int, default=1000, help="print the minibatch loss every N steps")
    ap.add_argument("--samples", type=int, default=20, help="names to sample after training (default: 20)")
    ap.add_argument("--data", default=os.path.join(HERE, "data", "names.txt"), help="one name per line")
    args = ap.parse_args(argv)

    if args.framework == "torch":
        import torch
        import torch.nn.functional as F
    else:
        import tritongrad as torch
        import tritongrad.nn.functional as F
    device = args.device

    words = open(args.data).read().splitlines()
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    itos = {i: s for s, i in stoi.items()}
    vocab_size = len(itos)
    block_size = 3  # characters of context

    def build_dataset(words):
        X, Y = [], []
        for w in words:
            context = [0] * block_size
            for ch in w + ".":
                ix = stoi[ch]
                X.append(context)
                Y.append(ix)
                context = context[1:] + [ix]
        return torch.tensor(X).to(device), torch.tensor(Y).to(device)

    random.seed(42)
    random.shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    Xtr, Ytr = build_dataset(words[:n1])
    Xdev, Ydev = build_dataset(words[n1:n2])
    print(f"{len(words)} names, vocabulary {vocab_size}, {Xtr.shape[0]} training examples")

    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((vocab_size, 10), generator=g).to(device)
    W1 = (torch.randn((block_size * 10, 200), generator=g) * 0.2).to(device)
    b1 = (torch.randn(200, generator=g) * 0.01).to(device)
    W2 = (torch.randn((200, vocab_size), generator=g) * 0.01).to(device)
    b2 = torch.zeros(vocab_size).to(device)
    parameters = [C, W1, b1, W2, b2]
    for p in parameters:
        p.requires_grad = True
    print(f"{sum(p.nelement() for p in parameters)} parameters")

    for i in range(args.steps):
        ix = torch.randint(0, Xtr.shape[0], (args.batch_size,), generator=g).to(device)
        emb = C[Xtr[ix]]  # (batch, block_size, 10)
        h = torch.tanh(emb.view(-1, block_size * 10) @ W1 + b1)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Ytr[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < args.steps // 2 else 0.01
        for p in parameters:
            p.data += -lr * p.grad
        if i % args.print_every == 0 or i == args.steps - 1:
            print(f"step {i:6d}: loss {loss.item():.4f}")

    with torch.no_grad():
        for name, X, Y in (("train", Xtr, Ytr), ("dev", Xdev, Ydev)):
            h = torch.tanh(C[X].view(-1, block_size * 10) @ W1 + b1)
            print(f"{name} loss {F.cross_entropy(h @ W2 + b2, Y).item():.4f}")

        g = torch.Generator().manual_seed(2147483647 + 10)
        for _ in range(args.samples):
            out, context = [], [0] * block_size
            while True:
                emb = C[torch.tensor([context]).to(device)]  # (1, block_size, 10)
                h = torch.tanh(emb.view(1, -1) @ W1 + b1)
                probs = F.softmax(h @ W2 + b2, dim=1)
                ix = torch.multinomial(probs.cpu(), num_samples=1, generator=g).item()
                context = context[1:] + [ix]
                out.append(ix)
                if ix == 0:
                    break
            print("".join(itos[i] for i in out))


if __name__ == "__main__":
    main()

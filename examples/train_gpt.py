"""Train a character-level GPT (nanoGPT's shape) with tritongrad, on the CPU or a CUDA GPU.

The model: token and position embeddings, pre-LayerNorm blocks of causal self-attention (one Linear,
c_attn, makes q, k, v; fused flash attention on CUDA) and a GELU MLP, a final LayerNorm and a language
model head that shares the token embedding's weight. Training: AdamW with weight decay on the matrices
only, a cosine learning rate with linear warm-up, gradient clipping. The text needs no download: the
docstrings of a fixed list of Python standard library modules (the Python running this script),
ASCII only, 90% for training and 10% for validation.

    python examples/train_gpt.py                          # CPU, small model: about a minute
    python examples/train_gpt.py --device cuda --dtype bfloat16 --n-layer 6 --n-head 6 --n-embd 384 \\
        --block-size 256 --batch-size 64 --steps 5000

It prints the unigram entropy of the text (the loss of a model that ignores context), a progress line
(steps/s, tokens/s, loss), the validation loss every --eval-interval steps, saves a checkpoint with
tg.save, and samples text at the end with --temperature and --top-k (on the host with NumPy from
the last logits: tritongrad has no topk / multinomial yet).
"""
import argparse
import importlib
import inspect
import math
import os
import sys
import time
import warnings

import numpy as np

import tritongrad as tg
import tritongrad.nn.functional as F
from tritongrad import nn

MODULES = ("argparse", "collections", "functools", "itertools", "json", "logging", "pathlib", "string", "textwrap",
           "random", "statistics", "fractions", "heapq", "bisect", "difflib", "inspect", "typing", "dataclasses",
           "enum", "shutil", "tempfile", "unittest", "email", "http.client", "urllib.parse", "csv", "datetime",
           "calendar", "pprint", "contextlib", "abc", "operator", "copy", "pickle", "zipfile", "tarfile", "gzip",
           "io", "os", "subprocess", "threading", "queue", "socket", "sqlite3", "decimal", "math", "re", "struct")


def stdlib_text(modules=MODULES):
    """The docstrings of `modules` and of the classes and functions they define, ASCII only."""
    parts = []
    with warnings.catch_warnings():  # NOTE: reading some attributes warns of deprecations (typing.io)
        warnings.simplefilter("ignore")
        for name in modules:
            mod = importlib.import_module(name)
            parts.append(inspect.getdoc(mod) or "")
            for _, obj in sorted(vars(mod).items()):
                if (inspect.isclass(obj) or inspect.isfunction(obj)) and getattr(obj, "__module__", None) == name:
                    parts.append(inspect.getdoc(obj) or "")
    text = "\n\n".join(p for p in parts if p)
    return text.encode("ascii", "ignore").decode("ascii")


# --- the model ---------------------------------------------------------------------------------------
class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, dropout):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.resid_dropout = nn.Dropout(dropout)
        self.n_head, self.n_embd, self.dropout = n_head, n_embd, dropout

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in self.c_attn(x).split(C, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C)))


class MLP(nn.Module):
    def __init__(self, n_embd, dropout):
        super().__init__()
        # NOTE: GPT-2's tanh form: the exact one evaluates erf per element in Python on the CPU (slow)
        self.c_fc, self.gelu = nn.Linear(n_embd, 4 * n_embd), nn.GELU(approximate="tanh")
        self.c_proj, self.dropout = nn.Linear(4 * n_embd, n_embd), nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, n_embd, n_head, dropout):
        super().__init__()
        self.ln_1, self.attn = nn.LayerNorm(n_embd), CausalSelfAttention(n_embd, n_head, dropout)
        self.ln_2, self.mlp = nn.LayerNorm(n_embd), MLP(n_embd, dropout)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """nanoGPT's GPT: wte, wpe, blocks h.0 ... h.{n_layer-1}, ln_f, and lm_head tied to wte."""

    def __init__(self, vocab_size, block_size=64, n_layer=2, n_head=4, n_embd=64, dropout=0.0):
        super().__init__()
        self.block_size = block_size
        self.wte, self.wpe = nn.Embedding(vocab_size, n_embd), nn.Embedding(block_size, n_embd)
        self.drop = nn.Dropout(dropout)
        self.h = nn.ModuleList([Block(n_embd, n_head, dropout) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # NOTE: weight tying: one Parameter, two uses
        with tg.no_grad():  # NOTE: GPT-2's initialisation, as nanoGPT's
            for name, p in self.named_parameters():
                if name.endswith("c_proj.weight"):
                    nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layer))
                elif name.endswith("weight") and p.ndim == 2:
                    nn.init.normal_(p, 0.0, 0.02)
                elif name.endswith("bias"):
                    nn.init.zeros_(p)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        pos = tg.arange(T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))


def torch_gpt(torch, vocab_size, block_size=64, n_layer=2, n_head=4, n_embd=64):
    """The same GPT written for PyTorch (nanoGPT's model, no dropout), with the same parameter names: the
    reference of tests/test_gpt.py and benchmarks/bench_gpt.py (this script itself never needs PyTorch).
    Its forward(idx, targets) returns the loss."""
    tnn, tF = torch.nn, torch.nn.functional

    class Attention(tnn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn, self.c_proj = tnn.Linear(n_embd, 3 * n_embd), tnn.Linear(n_embd, n_embd)

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2) for t in self.c_attn(x).split(C, dim=2))
            y = tF.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    class TorchMLP(tnn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc, self.c_proj = tnn.Linear(n_embd, 4 * n_embd), tnn.Linear(4 * n_embd, n_embd)

        def forward(self, x):
            return self.c_proj(tF.gelu(self.c_fc(x), approximate="tanh"))

    class TorchBlock(tnn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.attn = tnn.LayerNorm(n_embd), Attention()
            self.ln_2, self.mlp = tnn.LayerNorm(n_embd), TorchMLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class TorchGPT(tnn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = tnn.Embedding(vocab_size, n_embd), tnn.Embedding(block_size, n_embd)
            self.h = tnn.ModuleList([TorchBlock() for _ in range(n_layer)])
            self.ln_f = tnn.LayerNorm(n_embd)
            self.lm_head = tnn.Linear(n_embd, vocab_size, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, idx, targets):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
            for block in self.h:
                x = block(x)
            logits = self.lm_head(self.ln_f(x))
            return tF.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))

    return TorchGPT()


def configure_optimizer(model, lr, weight_decay, betas=(0.9, 0.95), optim=tg.optim, **kwargs):
    """AdamW with weight decay on the matrices (Linear and embedding weights), none on biases and LayerNorms.
    `optim`: tg.optim, or torch.optim for torch_gpt's model; kwargs go to AdamW."""
    params = list(model.parameters())
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    return optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                        {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=betas, **kwargs)


def cosine_lr(step, lr, min_lr, warmup, steps):
    """Linear warm-up over `warmup` steps, then a cosine decay from lr to min_lr at `steps` (nanoGPT's get_lr)."""
    if step < warmup:
        return lr * (step + 1) / warmup
    ratio = min(1.0, (step - warmup) / max(1, steps - warmup))
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


# --- data --------------------------------------------------------------------------------------------
class CharData:
    """The text as int64 token ids, split 90 / 10, and random (B, T) batches of it."""

    def __init__(self, text, seed=0):
        self.chars = sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        ids = np.array([self.stoi[c] for c in text], dtype=np.int64)
        n = int(0.9 * len(ids))
        self.train, self.val = ids[:n], ids[n:]
        self.rng = np.random.default_rng(seed)

    def unigram_entropy(self):
        """The entropy (nats) of the training text's character frequencies."""
        p = np.bincount(self.train, minlength=len(self.chars)) / len(self.train)
        p = p[p > 0]
        return float(-(p * np.log(p)).sum())

    def batch(self, split, batch_size, block_size):
        data = self.train if split == "train" else self.val
        ix = self.rng.integers(0, len(data) - block_size - 1, batch_size)
        x = np.stack([data[i:i + block_size] for i in ix])
        y = np.stack([data[i + 1:i + 1 + block_size] for i in ix])
        return x, y

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)


# --- training ----------------------------------------------------------------------------------------
def evaluate(model, data, args, device):
    """The mean loss over --eval-iters validation batches, in eval mode."""
    model.eval()
    with tg.no_grad():
        losses = []
        for _ in range(args.eval_iters):
            x, y = data.batch("val", args.batch_size, args.block_size)
            _, loss = model(tg.tensor(x, device=device), tg.tensor(y, device=device))
            losses.append(loss.item())
    model.train()
    return float(np.mean(losses))


def sample(model, data, device, n_tokens, temperature, top_k, rng, prompt="\n"):
    """Generate n_tokens characters after `prompt`; the next-token draw on the host (NumPy)."""
    ids = [data.stoi[c] for c in prompt]
    model.eval()
    with tg.no_grad():
        for _ in range(n_tokens):
            ctx = tg.tensor(np.array([ids[-model.block_size:]]), device=device)
            logits, _ = model(ctx)
            z = logits[0, -1].float().cpu().numpy().astype(np.float64) / temperature
            if top_k:
                z[z < np.sort(z)[-min(top_k, z.size)]] = -np.inf
            p = np.exp(z - z.max())
            ids.append(int(rng.choice(z.size, p=p / p.sum())))
    model.train()
    return data.decode(ids[len(prompt):])


def train(args, out=sys.stdout):
    """Train as the flags say; returns (model, data, list of (step, train loss), list of (step, val loss))."""
    tg.manual_seed(args.seed)
    device = tg.device(args.device)
    dtype = {"float32": tg.float32, "bfloat16": tg.bfloat16, "float64": tg.float64}[args.dtype]
    if dtype is tg.bfloat16 and device.type != "cuda":
        raise SystemExit("--dtype bfloat16 needs --device cuda (NumPy has no bfloat16)")
    data = CharData(stdlib_text(), args.seed)
    print(f"text: {len(data.train) + len(data.val):,} characters, vocabulary {len(data.chars)}; "
          f"unigram entropy {data.unigram_entropy():.3f} nats (a model that ignores context)", file=out)
    model = GPT(len(data.chars), args.block_size, args.n_layer, args.n_head, args.n_embd, args.dropout)
    model.to(device=device, dtype=dtype)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params:,} parameters ({args.n_layer} layers, {args.n_head} heads, {args.n_embd} wide, "
          f"context {args.block_size}) on {device}, {args.dtype}", file=out)
    opt = configure_optimizer(model, args.lr, args.weight_decay)
    history, val_history = [], []
    tty = hasattr(out, "isatty") and out.isatty()
    t0 = time.perf_counter()
    for step in range(args.steps):
        lr = cosine_lr(step, args.lr, args.lr / 10, args.warmup, args.steps)
        for group in opt.param_groups:
            group["lr"] = lr
        x, y = data.batch("train", args.batch_size, args.block_size)
        _, loss = model(tg.tensor(x, device=device), tg.tensor(y, device=device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        opt.step()
        if step % args.log_interval == 0 or step == args.steps - 1:
            lossf = loss.item()
            history.append((step, lossf))
            dt = time.perf_counter() - t0
            rate = (step + 1) / dt
            line = (f"step {step + 1:5d}/{args.steps} | loss {lossf:.4f} | lr {lr:.2e} | {rate:6.2f} steps/s | "
                    f"{rate * args.batch_size * args.block_size:8.0f} tokens/s")
            print(("\r" + line) if tty else line, end="" if tty else "\n", file=out, flush=True)
        if (step + 1) % args.eval_interval == 0 or step == args.steps - 1:
            val = evaluate(model, data, args, device)
            val_history.append((step + 1, val))
            print(("\n" if tty else "") + f"step {step + 1}: validation loss {val:.4f}", file=out, flush=True)
    if args.checkpoint:
        tg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": args.steps,
                 "config": vars(args), "chars": "".join(data.chars)}, args.checkpoint)
        print(f"checkpoint: {args.checkpoint}", file=out)
    return model, data, history, val_history


def parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float64"),
                   help="parameters and activations (bfloat16 on CUDA only; AdamW's state then is bfloat16 too)")
    p.add_argument("--steps", type=int, default=1000, help="optimizer steps")
    p.add_argument("--batch-size", type=int, default=16, help="sequences per step")
    p.add_argument("--block-size", type=int, default=64, help="context length (characters)")
    p.add_argument("--n-layer", type=int, default=2, help="transformer blocks")
    p.add_argument("--n-head", type=int, default=4, help="attention heads (n_embd must divide by it)")
    p.add_argument("--n-embd", type=int, default=64, help="embedding width")
    p.add_argument("--dropout", type=float, default=0.0, help="dropout probability (embeddings, attention, residuals)")
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (the minimum is a tenth of it)")
    p.add_argument("--warmup", type=int, default=50, help="linear warm-up steps")
    p.add_argument("--weight-decay", type=float, default=0.1, help="AdamW weight decay of the matrices")
    p.add_argument("--grad-clip", type=float, default=1.0, help="clip the gradients' global norm to this")
    p.add_argument("--eval-interval", type=int, default=250, help="steps between validation losses")
    p.add_argument("--eval-iters", type=int, default=10, help="validation batches per evaluation")
    p.add_argument("--log-interval", type=int, default=10, help="steps between progress lines")
    p.add_argument("--checkpoint", default=os.path.join("out", "gpt.tg"), help="tg.save file ('' for none)")
    p.add_argument("--sample-tokens", type=int, default=300, help="characters to sample at the end")
    p.add_argument("--temperature", type=float, default=0.8, help="sampling temperature")
    p.add_argument("--top-k", type=int, default=20, help="sample among the k likeliest characters (0: all)")
    p.add_argument("--seed", type=int, default=1337, help="random seed (weights, batches, sampling)")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    if args.n_embd % args.n_head:
        raise SystemExit(f"--n-embd {args.n_embd} does not divide by --n-head {args.n_head}")
    if args.checkpoint and os.path.dirname(args.checkpoint):
        os.makedirs(os.path.dirname(args.checkpoint), exist_ok=True)
    model, data, _, _ = train(args)
    if args.sample_tokens:
        text = sample(model, data, tg.device(args.device), args.sample_tokens, args.temperature, args.top_k,
                      np.random.default_rng(args.seed))
        print("sample:\n" + text)


if __name__ == "__main__":
    main()

"""A training step of the character-level GPT of examples/train_gpt.py, tritongrad and PyTorch side by side,
and GELU forward / backward throughput.

gpt (family "training", case "gpt"): one AdamW step (forward, cross-entropy, backward, gradient
clipping, the weight-decay groups' update) of examples/train_gpt.py's GPT, and of the same model
written for PyTorch (train_gpt.torch_gpt) from the same weights (copied through state_dict), on one
fixed batch. extra_info: tokens (per step; tokens/s = tokens / median), flops (nanoGPT's estimate:
6 N + 12 L T C per token), peak_bytes (peak memory of one step: device memory on CUDA; on the CPU,
tritongrad's NumPy arrays as tracemalloc sees them; torch-cpu's allocator is not visible there, so
not measured).
- CPU (every mode): the example's default model, B=16, T=64, 2 layers, 4 heads, C=64, float32.
- CUDA (a real GPU): nanoGPT's shakespeare-char model, B=64, T=256, 6 layers, 6 heads, C=384, in
  float32 and bfloat16 (all parameters and activations: neither side uses autocast), modes eager,
  graph (the whole step captured: tg.cuda.CUDAGraph; torch.cuda.CUDAGraph with AdamW(capturable=True),
  as PyTorch requires; tritongrad's AdamW keeps its step count on the host, so a replay repeats the
  captured step's bias correction: the same work) and compile (PyTorch: torch.compile of the model;
  tritongrad: tg.compile(step, mode="reduce-overhead"), the whole step as a CUDA graph).

gelu (family "elementwise", case "gelu"): F.gelu forward, and its backward through autograd.grad on a
recorded graph (reads x and the gradient, writes dx), GB/s; approximate="none" and "tanh".
Sizes: quick 2^16 elements; full also 8 * 1024 * 3072 (GPT-2 small's MLP activations, B=8, T=1024).
LayerNorm and attention: benchmarks/bench_nn_kernels.py.
"""
import importlib.util
import pathlib
import tracemalloc

import numpy as np
import pytest
from benchlib import EMULATED, QUICK, Provider, cases, graphed, measure, sizes, torch

import tritongrad as tg

_SPEC = importlib.util.spec_from_file_location(
    "examples_train_gpt", pathlib.Path(__file__).resolve().parent.parent / "examples" / "train_gpt.py")
GPTX = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(GPTX)

VOCAB = 65
CPU_CONFIG = dict(batch=16, block_size=64, n_layer=2, n_head=4, n_embd=64)
GPU_CONFIG = dict(batch=8, block_size=64, n_layer=2, n_head=4, n_embd=64) if QUICK else dict(
    batch=64, block_size=256, n_layer=6, n_head=6, n_embd=384)
CPU = ["tritongrad-cpu", "torch-cpu"]
GPU = ["tritongrad-cuda", "torch-cuda"]
_NO_GRAPH = "CUDA graphs need a real GPU; emulated CUDA cannot capture"


def _gpt_params():
    """(mode, dtype, provider, config): CPU providers eager in float32; GPU providers in every mode."""
    out = []
    for mode in ("eager", "graph", "compile"):
        for dtype in ("float32", "bfloat16"):
            providers = GPU + (CPU if mode == "eager" and dtype == "float32" else [])

            def skip(p, s, mode=mode):
                if mode in ("graph", "compile") and EMULATED:
                    return _NO_GRAPH
                if mode == "compile" and p == "torch-cuda" and not hasattr(torch, "compile"):
                    return "this PyTorch has no torch.compile"
                return None

            for p in cases(providers, ["config"], skip=skip):
                name = p.values[0]
                config = GPU_CONFIG if name.endswith("-cuda") else CPU_CONFIG
                out.append(pytest.param(mode, dtype, name, config, marks=p.marks, id=f"{mode}-{dtype}-{name}"))
    return out


def _models(P, config, dtype):
    """The tritongrad GPT (seeded) and, for a torch provider, the PyTorch twin with its weights."""
    tg.manual_seed(0)
    shape = dict(block_size=config["block_size"], n_layer=config["n_layer"], n_head=config["n_head"],
                 n_embd=config["n_embd"])
    model = GPTX.GPT(VOCAB, **shape)
    if P.lib == "tritongrad":
        return model.to(device=P.device, dtype=P.dtype(dtype))
    ref = GPTX.torch_gpt(torch, VOCAB, **shape)
    ref.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in model.state_dict().items()})
    return ref.to(device=P.device, dtype=P.dtype(dtype))


def _step(P, model, config, mode):
    """One training step on a fixed batch, as a closure."""
    rng = np.random.default_rng(0)
    B, T = config["batch"], config["block_size"]
    x, y = (P.mod.tensor(rng.integers(0, VOCAB, (B, T)), device=P.device) for _ in range(2))
    if P.lib == "tritongrad":
        opt = GPTX.configure_optimizer(model, 1e-3, 0.1)
        clip = tg.nn.utils.clip_grad_norm_
        loss_of = lambda: model(x, y)[1]  # noqa: E731
    else:
        opt = GPTX.configure_optimizer(model, 1e-3, 0.1, optim=torch.optim, capturable=mode == "graph")
        clip = torch.nn.utils.clip_grad_norm_
        fwd = torch.compile(model) if mode == "compile" else model
        loss_of = lambda: fwd(x, y)  # noqa: E731
    params = list(model.parameters())

    def step():
        loss = loss_of()
        opt.zero_grad(set_to_none=False)  # NOTE: .grad stays where it is (a captured graph writes it in place)
        loss.backward()
        clip(params, 1.0)
        opt.step()
        return loss
    return tg.compile(step, mode="reduce-overhead") if mode == "compile" and P.lib == "tritongrad" else step


def _peak_bytes(P, fn):
    """Peak memory of one call of fn (see the module docstring), or None where it is not visible."""
    if P.device == "cuda":
        mem = tg.cuda if P.lib == "tritongrad" else torch.cuda
        P.sync()
        mem.reset_peak_memory_stats()
        fn()
        P.sync()
        return int(mem.max_memory_allocated())
    if P.lib != "tritongrad":
        return None
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def gpt_flops(config):
    """nanoGPT's estimate of one step's flops: 6 N per token (N: parameters but the position embedding)
    plus 12 L T C per token for attention."""
    C, L, T = config["n_embd"], config["n_layer"], config["block_size"]
    n = VOCAB * C + L * (12 * C * C + 13 * C) + 2 * C
    return (6 * n + 12 * L * T * C) * config["batch"] * T


@pytest.mark.parametrize("mode,dtype,provider,config", _gpt_params())
def test_gpt_step(benchmark, mode, dtype, provider, config):
    P = Provider(provider)
    model = _models(P, config, dtype)
    step = _step(P, model, config, mode)
    fn = graphed(P, step) if mode == "graph" else step
    fn()  # NOTE: compiles, creates .grad and the optimizer state: the peak of a steady-state step follows
    benchmark.extra_info["peak_bytes"] = _peak_bytes(P, fn)
    tokens = config["batch"] * config["block_size"]
    benchmark.extra_info["tokens"] = tokens
    label = "B{batch} T{block_size} L{n_layer} H{n_head} C{n_embd}".format(**config)
    measure(benchmark, P, fn, family="training", case="gpt", size=label, x=tokens, dtype=dtype, mode=mode,
            flops=gpt_flops(config))


# --- GELU ------------------------------------------------------------------------------------------
GELU_SIZES = sizes([1 << 16], [1 << 16, 8 * 1024 * 3072])
_BYTES = {"bfloat16": 2, "float32": 4}


def _gelu_params():
    out = []
    for dtype in ("float32", "bfloat16"):
        for p in cases(GPU + (CPU if dtype == "float32" else []), GELU_SIZES, cpu_max=1 << 16):
            out.append(pytest.param(dtype, *p.values, marks=p.marks, id=f"{dtype}-{p.values[0]}-{p.values[1]}"))
    return out


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("mode", ["fwd", "bwd"])
@pytest.mark.parametrize("dtype,provider,n", _gelu_params())
def test_gelu(benchmark, dtype, provider, n, mode, approximate):
    P = Provider(provider)
    x, g = P.randn(n, dtype=dtype, requires_grad=True), P.randn(n, dtype=dtype)
    gelu = (tg if P.lib == "tritongrad" else torch).nn.functional.gelu
    fn = lambda: gelu(x, approximate=approximate)  # noqa: E731
    if mode == "bwd":
        y = fn()
        fn = lambda: P.grad(y, x, g)  # noqa: E731
    traffic = (2 if mode == "fwd" else 3) * n * _BYTES[dtype]
    measure(benchmark, P, fn, family="elementwise", case=f"gelu-{approximate}", size=str(n), x=n, dtype=dtype,
            mode=mode, bytes=traffic, pipelined=True)

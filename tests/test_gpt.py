"""The character-level GPT of examples/train_gpt.py against the same model written for PyTorch: from the
same weights (copied through state_dict), a few training steps in float64 (AdamW with weight-decay
groups, cosine learning rate, gradient clipping) give the same losses, gradients and parameters to
float64 precision, on the CPU and on (emulated) CUDA. And the script itself runs on both devices."""
import importlib.util
import pathlib

import numpy as np
import pytest

import tritongrad as tg

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "train_gpt.py"
TINY = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)


def _example():
    spec = importlib.util.spec_from_file_location("examples_train_gpt", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _train(ex, model, opt, batches, step_fn):
    """Losses, gradients (before clipping) and parameters after each step."""
    out = []
    for step, (x, y) in enumerate(batches):
        lr = ex.cosine_lr(step, 1e-2, 1e-3, 2, len(batches))
        for group in opt.param_groups:
            group["lr"] = lr
        out.append(step_fn(x, y))
    return out


def test_training_steps_match_pytorch_in_float64(device, torch):
    ex = _example()
    tg.manual_seed(0)
    config = TINY if device == "cpu" else dict(TINY, n_layer=1)  # NOTE: the interpreter is slow: one block on CUDA
    model = ex.GPT(**config).to(device=device, dtype=tg.float64)
    ref = ex.torch_gpt(torch, **config).double()
    state = {k: torch.tensor(v.detach().cpu().numpy()) for k, v in model.state_dict().items()}
    ref.load_state_dict(state)
    assert ref.lm_head.weight is ref.wte.weight and model.lm_head.weight is model.wte.weight
    rng = np.random.default_rng(1)
    shape = (3, TINY["block_size"])
    batch = (rng.integers(0, TINY["vocab_size"], shape), rng.integers(0, TINY["vocab_size"], shape))
    batches = [batch] * (3 if device == "cpu" else 2)  # NOTE: the interpreter is slow: two steps on CUDA
    opt = ex.configure_optimizer(model, 1e-2, 0.1)
    ref_opt = ex.configure_optimizer(ref, 1e-2, 0.1, optim=torch.optim)
    names = [n for n, _ in model.named_parameters()]
    assert names == [n for n, _ in ref.named_parameters()]

    def ours(x, y):
        _, loss = model(tg.tensor(x, device=device), tg.tensor(y, device=device))
        opt.zero_grad()
        loss.backward()
        grads = [p.grad.cpu().numpy().copy() for p in model.parameters()]
        norm = tg.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        return loss.item(), norm.item(), grads, [p.detach().cpu().numpy().copy() for p in model.parameters()]

    def theirs(x, y):
        loss = ref(torch.tensor(x), torch.tensor(y))
        ref_opt.zero_grad()
        loss.backward()
        grads = [p.grad.numpy().copy() for p in ref.parameters()]
        norm = torch.nn.utils.clip_grad_norm_(ref.parameters(), 0.5)
        ref_opt.step()
        return loss.item(), norm.item(), grads, [p.detach().numpy().copy() for p in ref.parameters()]

    got, want = _train(ex, model, opt, batches, ours), _train(ex, ref, ref_opt, batches, theirs)
    for step, ((loss, norm, grads, params), (tloss, tnorm, tgrads, tparams)) in enumerate(zip(got, want)):
        np.testing.assert_allclose(loss, tloss, rtol=1e-12, err_msg=f"loss at step {step}")
        np.testing.assert_allclose(norm, tnorm, rtol=1e-12, err_msg=f"gradient norm at step {step}")
        for name, g, tg_ in zip(names, grads, tgrads):
            np.testing.assert_allclose(g, tg_, rtol=1e-9, atol=1e-13, err_msg=f"{name}.grad at step {step}")
        for name, p, tp in zip(names, params, tparams):
            np.testing.assert_allclose(p, tp, rtol=1e-9, atol=1e-13, err_msg=f"{name} after step {step}")
    assert got[-1][0] < got[0][0]  # NOTE: it learns: the loss on the batch falls


def test_dropout_inside_the_model_is_active_in_training_only(device):
    ex = _example()
    tg.manual_seed(0)
    model = ex.GPT(**dict(TINY, n_layer=1), dropout=0.5).to(device=device)
    x = tg.tensor(np.arange(16).reshape(2, 8) % TINY["vocab_size"], device=device)
    a, b = model(x)[0], model(x)[0]
    assert not np.allclose(a.detach().cpu().numpy(), b.detach().cpu().numpy())
    model.eval()
    np.testing.assert_array_equal(model(x)[0].detach().cpu().numpy(), model(x)[0].detach().cpu().numpy())


@pytest.mark.parametrize("dev", ["cpu", "cuda"])
def test_the_script_trains_samples_and_saves_a_checkpoint(dev, tmp_path, capsys):
    if dev == "cuda" and not tg.cuda.is_available():
        pytest.skip("no CUDA device (set TRITONGRAD_EMULATE_CUDA=1 to emulate one)")
    ex = _example()
    ckpt = tmp_path / "gpt.tg"
    ex.main(["--device", dev, "--steps", "2", "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16",
             "--batch-size", "2", "--eval-interval", "1", "--eval-iters", "1", "--log-interval", "1",
             "--sample-tokens", "3", "--dropout", "0.1", "--checkpoint", str(ckpt)])
    out = capsys.readouterr().out
    assert "unigram entropy" in out and "tokens/s" in out and out.count("validation loss") == 2
    assert "sample:\n" in out  # NOTE: 3 characters, which may be spaces or newlines
    saved = tg.load(str(ckpt))
    vocab = len(saved["chars"])
    model = ex.GPT(vocab, 16, 1, 2, 16)
    model.load_state_dict(saved["model"])
    assert saved["step"] == 2 and model.wte.weight.shape == (vocab, 16)

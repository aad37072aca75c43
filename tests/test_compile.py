"""tg.compile(fn, mode="reduce-overhead") and tg.cuda.make_graphed_callables.

On the CPU and under emulated CUDA both hand back what they were given (tested here with values);
the capture and replay logic runs under stubbed CUDA (tritongrad/cuda/stub.py) in a subprocess,
where the driver counts graph launches and kernel launches: values need a real GPU
(scripts/gpu_check.sh runs examples/cuda_graph_training.py and the graph benchmarks there).
"""
import numpy as np
import pytest
from test_cuda_stub import run_stubbed

import tritongrad as tg

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NOTE: the interpreter on masked lanes


def _step_fn(w):
    def step(x):
        loss = (x.mm(w) ** 2).mean()
        loss.backward()
        with tg.no_grad():
            w.sub_(0.1 * w.grad)
            w.grad.zero_()
        return loss
    return step


@pytest.mark.parametrize("mode", [None, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"])
def test_compile_returns_fn_without_a_gpu(device, mode):
    if tg.cuda.is_available() and not tg.cuda.is_emulated() and mode in ("reduce-overhead", "max-autotune"):
        pytest.skip("a real GPU captures")
    w = tg.randn(5, 3, device=device, requires_grad=True)
    step = _step_fn(w)
    assert tg.compile(step, mode=mode) is step
    assert tg.compile(mode=mode)(step) is step  # the decorator with arguments
    assert tg.compile(step) is step
    # and it trains as the eager function does
    x = tg.randn(4, 5, device=device)
    w0 = w.detach().clone()
    losses = [tg.compile(step, mode=mode)(x).item() for _ in range(3)]
    assert losses[2] < losses[0]
    assert not np.allclose(w.detach().cpu().numpy(), w0.cpu().numpy())


def test_compile_errors():
    with pytest.raises(RuntimeError, match="Unrecognized mode=fast, should be one of: default, reduce-overhead"):
        tg.compile(lambda x: x, mode="fast")
    with pytest.raises(RuntimeError, match="callable"):
        tg.compile(3)
    f = lambda x: x  # noqa: E731
    assert tg.compile(f, mode="reduce-overhead", disable=True) is f


def test_make_graphed_callables_without_a_gpu(device):
    if tg.cuda.is_available() and not tg.cuda.is_emulated():
        pytest.skip("a real GPU captures")
    lin = tg.nn.Linear(5, 3).to(device)
    fn = lambda a, b: (a * b).sum(1)  # noqa: E731
    x = tg.randn(4, 5, device=device, requires_grad=True)
    assert tg.cuda.make_graphed_callables(lin, (x,)) is lin
    assert tg.cuda.make_graphed_callables((lin, fn), ((x,), (x, x))) == (lin, fn)


SCRIPT = """
import json, warnings
import numpy as np
import tritongrad as tg
from tritongrad import _compile
from tritongrad.cuda import stub
rng = np.random.default_rng(0)
w1 = tg.tensor(rng.standard_normal((97, 33)).astype(np.float32), device="cuda", requires_grad=True)
w2 = tg.tensor(rng.standard_normal((33, 10)).astype(np.float32), device="cuda", requires_grad=True)
runs = []
results = {}

def step(x, y):
    runs.append(1)
    loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).mean()
    loss.backward()
    with tg.no_grad():
        for w in (w1, w2):
            w.sub_(1e-3 * w.grad)
            w.grad.zero_()
    return loss

def replays():
    cstep = tg.compile(step, mode="reduce-overhead")
    x, y = tg.randn(64, 97, device="cuda"), tg.randn(64, 10, device="cuda")
    log = []
    for n in (64, 64, 64, 64, 32, 32, 32, 64):
        xs, ys = x[:n].clone(), y[:n].clone()
        before = stub.counts()
        out = cstep(xs, ys)
        d = stub.counts() - before
        log.append([len(runs), d["launch"], d["cuGraphLaunch"], d["cuStreamSynchronize"] + d["cuCtxSynchronize"]])
    return dict(log=log, out=[type(out).__name__, out.requires_grad, list(out.shape)])

def uncapturable():
    def bad(x, y):
        loss = step(x, y)
        return loss.item()  # a host read: cannot be captured
    cbad = tg.compile(bad, mode="reduce-overhead")
    x, y = tg.randn(64, 97, device="cuda"), tg.randn(64, 10, device="cuda")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vals = [cbad(x, y) for _ in range(4)]
        before = stub.counts()
        cbad(x, y)
        d = stub.counts() - before
    return dict(n=len(caught), msg=str(caught[0].message), vals=vals, graph=d["cuGraphLaunch"], launch=d["launch"])

def bounded():
    f = tg.compile(lambda x: x * 2, mode="reduce-overhead")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(1, _compile.MAX_SIGNATURES + 4):
            for _ in range(3):
                f(tg.ones(n, device="cuda"))
    return dict(captures=len(f._captures), warnings=[str(w.message) for w in caught])

def graphed():
    lin = tg.nn.Linear(97, 10).cuda()
    x = tg.randn(64, 97, device="cuda", requires_grad=True)
    g = tg.cuda.make_graphed_callables(lin, (x,))
    before = stub.counts()
    out = g(tg.randn(64, 97, device="cuda", requires_grad=True))
    fwd = stub.counts() - before
    out.sum().backward()
    both = stub.counts() - before
    return dict(same=g is lin, fwd=fwd["cuGraphLaunch"], both=both["cuGraphLaunch"],
                grad=list(lin.weight.grad.shape), fn=out.grad_fn.__class__.__name__)

print(json.dumps({f.__name__: f() for f in (replays, uncapturable, bounded, graphed)}))
"""


@pytest.fixture(scope="module")
def stubbed():
    """The scenarios of SCRIPT, run once in a stubbed-CUDA interpreter."""
    return run_stubbed(SCRIPT)


def test_compile_captures_once_and_replays(stubbed):
    got = stubbed["replays"]
    log = got["log"]
    assert [r[0] for r in log] == [1, 2, 2, 2, 3, 4, 4, 4]  # warm-up, capture, replays; a new shape: again
    assert [r[2] for r in log] == [0, 1, 1, 1, 0, 1, 1, 1]  # one graph launch per captured call
    eager = log[0][1]
    assert eager >= 12 and all(r[1] <= 3 for r in (log[2], log[3], log[6], log[7]))  # 2 input copies + 1 output
    assert all(r[3] == 0 for r in log[2:4] + log[6:])  # replays never synchronize
    assert got["out"] == ["Tensor", False, []]


def test_compile_uncapturable_step_runs_eagerly_with_one_warning(stubbed):
    got = stubbed["uncapturable"]
    assert got["n"] == 1 and "could not be captured" in got["msg"] and "host" in got["msg"]
    assert got["graph"] == 0 and got["launch"] >= 12 and len(got["vals"]) == 4


def test_compile_bounds_its_captures(stubbed):
    got = stubbed["bounded"]
    assert got["captures"] == 8
    assert len(got["warnings"]) == 1 and "new ones run eagerly" in got["warnings"][0]


def test_make_graphed_callables_replays_forward_and_backward(stubbed):
    got = stubbed["graphed"]
    assert got["same"] and got["fwd"] == 1 and got["both"] == 2
    assert got["grad"] == [10, 97] and got["fn"].endswith("Backward")

"""kernels/_launch.py: which calls reuse a compiled variant, and with which arguments.

The real launches are checked by the GPU tier (every CUDA test goes through Launcher on a GPU);
here a fake kernel records what Triton's path and the direct path were each given.
"""
import types

import pytest

pytest.importorskip("triton")
tg = pytest.importorskip("tritongrad")
if not tg.cuda.is_available():
    pytest.skip("needs a GPU or TRITONGRAD_EMULATE_CUDA=1 (tritongrad.kernels)", allow_module_level=True)

from triton import knobs  # noqa: E402
from triton.runtime.autotuner import Autotuner  # noqa: E402

from tritongrad.kernels import _launch  # noqa: E402

_NO_DEFAULT = object()


def param(name, constexpr=False, default=_NO_DEFAULT, dns=False):
    return types.SimpleNamespace(name=name, is_constexpr=constexpr, do_not_specialize=dns,
                                 has_default=default is not _NO_DEFAULT,
                                 default=None if default is _NO_DEFAULT else default)


class FakeKernel:
    """Stands for a JITFunction: `[grid](...)` is Triton's path; the variant it returns records launches."""

    def __init__(self, *params):
        self.params = list(params)
        self.arg_names = [p.name for p in params]
        self.slow, self.direct = [], []

    def __getitem__(self, grid):
        def run(*args, **kwargs):
            self.slow.append((grid, args, kwargs))
            return types.SimpleNamespace(run=lambda *a: self.direct.append(a), function="fn", packed_metadata="meta")
        return run


class Ptr:
    def __init__(self, address, dtype="float32"):
        self.address, self.dtype = address, dtype

    def data_ptr(self):
        return self.address


@pytest.fixture
def stream(monkeypatch):
    monkeypatch.setattr(_launch, "current_stream", lambda: types.SimpleNamespace(handle=7))


def kernel3():
    return FakeKernel(param("x_ptr"), param("n"), param("scale"), param("BLOCK", True), param("ACC", True, "fp32"))


def test_second_launch_goes_direct_with_every_parameter(stream):
    k = kernel3()
    launch = _launch.Launcher(k)
    x = Ptr(4096)
    launch[(3,)](x, 1008, 0.5, BLOCK=128)
    assert len(k.slow) == 1 and k.direct == []
    launch[(5, 2)](Ptr(8192), 1008, 1.5, BLOCK=128)
    assert len(k.slow) == 1
    (call,) = k.direct
    grid, handle, fn, packed, hooks, args = call[:3], call[3], call[4], call[5], call[6:9], call[9:]
    assert (grid, handle, fn, packed, hooks) == ((5, 2, 1), 7, "fn", "meta", (None, None, None))
    assert args[0].address == 8192 and args[1:] == (1008, 1.5, 128, "fp32")  # constexprs and defaults too


@pytest.mark.parametrize("change", [
    dict(ptr=4100),     # no longer 16-byte aligned
    dict(dtype="float16"),
    dict(n=1),          # Triton folds an int equal to 1 into the kernel
    dict(n=1001),       # no longer divisible by 16
    dict(n=2**31),      # int64, not int32
    dict(n=2**21 + 8),  # large, and no longer divisible by 16
    dict(scale=2),      # an int where a float was
    dict(BLOCK=256),    # a constexpr value
    dict(extra={"num_warps": 8}),
])
def test_a_different_signature_goes_through_triton(stream, change):
    k = kernel3()
    launch = _launch.Launcher(k)
    launch[(1,)](Ptr(4096), 1024, 0.5, BLOCK=128)
    args = dict(ptr=4096, dtype="float32", n=1024, scale=0.5, BLOCK=128, extra={}) | change
    launch[(1,)](Ptr(args["ptr"], args["dtype"]), args["n"], args["scale"], BLOCK=args["BLOCK"], **args["extra"])
    assert len(k.slow) == 2 and k.direct == []
    launch[(1,)](Ptr(args["ptr"], args["dtype"]), args["n"], args["scale"], BLOCK=args["BLOCK"], **args["extra"])
    assert len(k.slow) == 2 and len(k.direct) == 1  # and that signature is kept in turn


@pytest.mark.parametrize("n, then", [(2**21, 2**21 + 16), (2**40 + 3, 2**40 + 5)])
def test_large_ints_of_one_specialization_share_a_variant(stream, n, then):
    k = kernel3()
    launch = _launch.Launcher(k)
    launch[(1,)](Ptr(0), n, 0.5, BLOCK=128)
    launch[(1,)](Ptr(0), then, 0.5, BLOCK=128)
    assert len(k.slow) == 1 and k.direct[0][10] == then


def test_unspecialized_ints_key_on_their_width_only(stream):
    k = FakeKernel(param("x_ptr"), param("seed", dns=True))
    launch = _launch.Launcher(k)
    for seed in (1, 16, 12345, 2**31 - 1):
        launch[(1,)](Ptr(0), seed)
    launch[(1,)](Ptr(0), 2**31)
    assert [call[1][1] for call in k.slow] == [1, 2**31] and len(k.direct) == 3


def test_unknown_arguments_and_launch_hooks_always_go_through_triton(stream, monkeypatch):
    k = kernel3()
    launch = _launch.Launcher(k)
    for _ in range(2):
        launch[(1,)](object(), 16, 0.5, BLOCK=128)
    assert len(k.slow) == 2
    launch[(1,)](Ptr(0), 16, 0.5, BLOCK=128)
    monkeypatch.setattr(knobs.runtime, "launch_enter_hook", lambda *a: None)
    launch[(1,)](Ptr(0), 16, 0.5, BLOCK=128)
    assert len(k.slow) == 4 and k.direct == []


class FakeTuner(Autotuner):
    """Stands for triton.autotune over a FakeKernel that always chooses BLOCK_M=64."""

    def __init__(self, fn, keys):  # NOTE: only the attributes Launcher reads
        self.fn, self.keys = fn, keys
        self.best_config = types.SimpleNamespace(kwargs={"BLOCK_M": 64})

    def __getitem__(self, grid):
        return self.fn[grid]


def test_autotuned_kernel_keys_on_tuned_values_and_uses_the_chosen_config(stream):
    k = FakeKernel(param("a_ptr"), param("M"), param("BLOCK_M", True))
    launch = _launch.Launcher(FakeTuner(k, ["M"]))
    metas = []

    def grid(meta):
        metas.append(meta)
        return (meta["M"] // meta["BLOCK_M"],)

    launch[grid](Ptr(0), 256)
    launch[grid](Ptr(0), 512)  # another M (same specialization): the autotuner must choose again
    assert len(k.slow) == 2
    launch[grid](Ptr(16), 512)
    assert len(k.slow) == 2 and [(m["M"], m["BLOCK_M"]) for m in metas] == [(512, 64)]
    assert k.direct[0][:3] == (8, 1, 1) and k.direct[0][-1] == 64


def test_inline_signature_agrees_with_sig():
    """_signature's inline fast paths key every argument as _sig does (or finer, for plain ints)."""
    from tritongrad import _dtype as D
    from tritongrad.cuda import memory
    arr = memory.empty((3, 5), D.float32)
    view = arr.index((slice(None), slice(1, None)))
    values = [0, 1, 16, 17, -5, 2**20 - 1, 2**20, 2**31 - 1, 2**31, -2**31, -2**31 - 1, 2**63, 0.5, 1.0, None, True,
              arr, view]
    for kind in (_launch._CONST, _launch._PLAIN, _launch._NO_SPEC):
        for v in values:
            if kind == _launch._CONST and hasattr(v, "data_ptr"):
                continue  # NOTE: a tensor is never a constexpr (Triton refuses one)
            inline = _launch._signature([v], [kind])[0]
            if kind == _launch._PLAIN and type(v) is int and -_launch._RAW < v < _launch._RAW:
                assert inline == v  # NOTE: by value: finer than Triton's specialization
            else:
                assert inline == _launch._sig(v, kind), (kind, v)

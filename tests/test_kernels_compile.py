"""Every kernel compiles for an H100 (sm_90) with the installed Triton's real compiler, without a GPU.

The other kernel tests run under Triton's interpreter, which never sees Triton's code generator
(and accepts things the GPU path refuses). Here the launch wrappers run against a mocked driver:
arrays are fake device pointers, each launch compiles the kernel variant through ptxas to a cubin,
then does nothing. It runs in a subprocess, because interpreting is a process-wide choice.

A representative variant of each kernel by default (about half a minute); every op and dtype
with TRITONGRAD_COMPILE_ALL=1 (tens of minutes on two cores). Run it alone, as a script:
python tests/test_kernels_compile.py [all]
"""
import importlib.util
import os
import subprocess
import sys

import pytest

NEEDS_TRITON = pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="needs triton")


def compile_in_subprocess(script, timeout=3600):
    """Run a compile-check `script` (this module's pattern: main() against the mocked driver) in a fresh
    process without the interpreter or emulation, with the repository and tests/ importable; it must
    exit 0 having compiled something. TRITONGRAD_COMPILE_ALL=1 passes `all` (every variant)."""
    env = {k: v for k, v in os.environ.items() if k not in ("TRITON_INTERPRET", "TRITONGRAD_EMULATE_CUDA")}
    tests = os.path.dirname(os.path.abspath(__file__))
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(tests), tests] + [p for p in [env.get("PYTHONPATH")] if p])
    args = [sys.executable, os.path.abspath(script)] + (["all"] if os.environ.get("TRITONGRAD_COMPILE_ALL") else [])
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-6000:]
    assert "compiled" in r.stdout
    return r


@NEEDS_TRITON
def test_kernels_compile_for_sm90():
    compile_in_subprocess(__file__)


def compile_cases(cases, compiled, timed=False, extra_failures=()):
    """Call each (launch wrapper, *args) of `cases` against the mocked driver (compiling its kernels) and
    report: each case's new variants and time with `timed`, then the count of variants and failures.
    Returns the script's exit code."""
    import time

    failures = list(extra_failures)
    for fn, *args in cases:
        t0, before = time.perf_counter(), len(compiled)
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001
            failures.append(f"{fn.__name__}{tuple(getattr(a, 'dtype', a) for a in args)}: {e!r}"[:3000])
        if timed:
            shown = tuple(getattr(a, "shape", a if isinstance(a, (int, float, str, tuple, type(None)))
                                  else type(a).__name__) for a in args)
            print(f"{fn.__name__}{shown}: {len(compiled) - before} new variants, {time.perf_counter() - t0:.1f} s")
    print(f"compiled {len(compiled)} kernel variants for sm_90; {len(failures)} failures")
    for f in failures:
        print(f)
    return 1 if failures else 0


# ------------------------------------------------------------------------------------------------
# the subprocess
# ------------------------------------------------------------------------------------------------
def _install_mock_driver():
    import triton
    from triton.backends.compiler import GPUTarget

    class Utils:
        def get_device_properties(self, device):
            return {"max_shared_mem": 232448, "multiprocessor_count": 132, "max_num_regs": 65536,
                    "warpSize": 32, "sm_clock_rate": 1, "mem_clock_rate": 1, "mem_bus_width": 1}

        def load_binary(self, name, kernel, shared, device):
            return 0, 0, 0, 0, 1024  # module, function, n_regs, n_spills, n_max_threads

        def unload_module(self, module):
            pass

    compiled = []

    class Launcher:
        def __init__(self, src, metadata):
            compiled.append(getattr(src, "name", "?"))

        def __call__(self, *args, **kwargs):
            pass

    class Driver:
        utils, launcher_cls = Utils(), Launcher

        def get_current_target(self):
            return GPUTarget("cuda", 90, 32)

        def get_current_device(self):
            return 0

        def set_current_device(self, device):
            pass

        def get_current_stream(self, device=None):
            return 0

        def get_device_capability(self, device=None):
            return (9, 0)

        def get_benchmarker(self):
            return lambda fn, quantiles=None, **kw: (fn(), [1.0, 1.0, 1.0])[1]

        def is_active(self):
            return True

    triton.runtime.driver.set_active(Driver())
    return compiled


def _fake_memory():
    """memory.empty returning arrays over fake, 256-byte aligned device addresses."""
    from tritongrad.cuda import memory
    from tritongrad.cuda.array import DeviceArray, contiguous_strides

    class FakeStorage:
        next_ptr = 1 << 32

        def __init__(self, nbytes):
            self.ptr, FakeStorage.next_ptr = FakeStorage.next_ptr, FakeStorage.next_ptr + (nbytes // 256 + 2) * 256

        def data_ptr(self):
            return self.ptr

    def empty(shape, dtype):
        n = dtype.itemsize
        for s in shape:
            n *= s
        return DeviceArray(FakeStorage(n), 0, tuple(shape), contiguous_strides(shape), dtype)

    memory.empty = empty
    return empty, lambda shape, strides, dtype: DeviceArray(FakeStorage(8), 0, shape, strides, dtype)


def compile_setup():
    """In the subprocess, before the kernels are imported: Triton's driver mocked for sm_90, fake device
    memory, no CUDA device initialized, every launch through Triton's dispatch (which compiles).
    Returns (the list the compiled kernels' names go to, empty(shape, dtype), view(shape, strides, dtype))."""
    compiled = _install_mock_driver()
    import tritongrad.cuda
    tritongrad.cuda._lazy_init = lambda: None  # NOTE: no device: kernels/__init__ must not initialize one
    empty, view = _fake_memory()
    from tritongrad.kernels import _launch, _utils as U
    _launch.ENABLED = False  # NOTE: every launch through Triton's dispatch, which compiles
    assert not U.INTERPRET
    return compiled, empty, view


def main(everything):
    compiled, empty, view = compile_setup()
    from helpers import BACKWARD_PARAMS

    from tritongrad import _dtype as D
    from tritongrad.kernels import _utils as U, elementwise as E, matmul as MM, random as RNG, reduction as R
    F, INTS = [D.float32, D.float64, D.float16, D.bfloat16], [D.int64, D.int32, D.int16, D.int8, D.uint8]
    A = F + INTS + [D.bool_]
    m = lambda dt: empty((33, 65), dt)  # noqa: E731
    t = lambda dt: view((33, 65), (1, 33), dt)  # noqa: E731  (a transposed view)
    cases = [
        (E.unary_fwd, "exp", m(D.float32)), (E.unary_fwd, "tanh", t(D.bfloat16)), (E.unary_fwd, "sign", m(D.int8)),
        (E.binary_fwd, "add", m(D.float32), empty((65,), D.float32)), (E.binary_fwd, "mul", m(D.float16), 0.5),
        (E.binary_fwd, "pow", m(D.bfloat16), t(D.bfloat16)), (E.binary_fwd, "pow", m(D.float64), 3),
        (E.binary_fwd, "lt", m(D.uint8), m(D.uint8)), (E.rbinary_fwd, "div", 2.0, m(D.float32)),
        (E.binary_, "sub", t(D.float32), empty((65,), D.float32), 0.1),
        (E.where_fwd, empty((33, 1), D.bool_), m(D.float32), m(D.float32)), (E.clamp_fwd, m(D.float16), -1, 1),
        (E.pointwise_bwd, "pow_backward", m(D.float32), m(D.float32), 2.5),
        (E.pointwise_bwd, "tanh_backward", m(D.bfloat16), m(D.bfloat16)),
        (E.pointwise_bwd, "clamp_backward", m(D.float64), m(D.float64), -1, None), (E.fill_, t(D.bool_), 1),
        (E.unary_fwd, "gelu", m(D.float64)), (E.unary_fwd, "gelu_tanh", m(D.bfloat16)),
        (E.unary_fwd, "log1p", m(D.float32)), (E.unary_fwd, "expm1", m(D.float16)),
        (E.pointwise_bwd, "gelu_backward", m(D.float32), m(D.float32)),
        (E.pointwise_bwd, "gelu_tanh_backward", m(D.float64), m(D.float64)),
        (E.copy_, m(D.bfloat16), t(D.float32)), (E.copy_, m(D.int8), t(D.float64)), (E.arange, 0, 9, 1, D.int64),
        (E.binary_fwd, "add", m(D.bfloat16), 0.1), (E.fill_, m(D.bfloat16), 0.1), (E.arange, 0, 1, 0.1, D.bfloat16),
        (E.unary_fwd, "neg", view((3, 5), (2**31, 1), D.float32)),  # int64 index math
        (E.unary_fwd, "neg", view((2, 3, 2, 3, 2), (1, 100, 7, 1000, 9999), D.float32)),  # > 4 dims
        (R.reduce, "sum", empty((4096, 512), D.float16), (1,), False),
        (R.reduce, "amax", empty((512, 4096), D.float32), (0,), True),
        (R.reduce, "prod", empty((10**6,), D.float64), (), False), (R.reduce, "all", m(D.bool_), (0,), False),
        (R.arg_reduce, "argmax", empty((10**6,), D.float32), None, False),
        (RNG.rand, (1000,), D.bfloat16, _Gen()), (RNG.randn, (1000,), D.float64, _Gen()),
        (RNG.random_, empty((1000,), D.int64), "randint", _Gen(), -5, 2**40),
        (RNG.random_, empty((1000,), D.float16), "exponential", _Gen(), 2.0),
        (RNG.random_, empty((1000,), D.float32), "bernoulli", _Gen(), empty((1000,), D.float64)),
        (RNG.random_, empty((1000,), D.bool_), "bernoulli", _Gen(), 0.3),
        (RNG.multinomial, empty((4, 27), D.float32), 100, True, _Gen()),
        (RNG.multinomial, empty((4, 1000), D.float16), 10, False, _Gen()),  # randperm: test_kernels_compile_sort
        (MM.matmul, empty((300, 200), D.float64), empty((200, 100), D.float64)),
        (MM.matmul, empty((64, 96), D.float32), empty((96, 80), D.float32), True),  # tf32: B transposed first
    ]
    from tritongrad.backends import primitives as P
    from tritongrad.kernels import mathops as MO

    cases += [  # the math ops (kernels/mathfn.py, mathops.py; sort.py: test_kernels_compile_sort.py)
        (E.unary_fwd, "atan", m(D.float64)), (E.unary_fwd, "asin", m(D.float32)), (E.unary_fwd, "sinh", t(D.float16)),
        (E.unary_fwd, "cosh", m(D.bfloat16)), (E.unary_fwd, "round", m(D.float64)), (E.unary_fwd, "floor", m(D.int32)),
        (E.unary_fwd, "frac", m(D.float32)), (E.unary_fwd, "isinf", m(D.float16)), (E.unary_fwd, "erf", m(D.float64)),
        (E.unary_fwd, "rsqrt", m(D.float32)), (E.unary_fwd, "log10", m(D.float64)), (E.unary_fwd, "tan", m(D.float32)),
        (E.binary_fwd, "atan2", m(D.float32), empty((65,), D.float32)), (E.binary_fwd, "atan2", m(D.float64), 2.0),
        (E.binary_fwd, "bitwise_and", m(D.bool_), m(D.bool_)), (E.binary_fwd, "bitwise_xor", m(D.int64), 3),
        (E.binary_fwd, "remainder", m(D.float32), empty((65,), D.float32)), (E.binary_fwd, "fmod", m(D.int64), 3),
        (E.binary_fwd, "div_floor", m(D.float16), 0.5), (E.binary_fwd, "div_trunc", m(D.int32), m(D.int32)),
        (E.rbinary_fwd, "remainder", 7, m(D.uint8)), (E.binary_fwd, "div_floor", m(D.float64), m(D.float64)),
        (R.reduce, "norm2", empty((10**6,), D.float32), (), False), (R.reduce, "norminf", m(D.float64), (1,), True),
        (MO.var, m(D.float32), (1,), 1, False, True), (MO.var, empty((4096, 64), D.float64), (0,), 0, True, False),
        (MO.cumsum, m(D.float32), 1, False), (MO.cumsum, m(D.int8), 0, True),
        (MO.lerp, m(D.float32), m(D.float32), 0.3), (MO.lerp, m(D.bfloat16), m(D.bfloat16), t(D.bfloat16)),
        (MO.nan_to_num, m(D.float16), 0.0, 1.0, -1.0),
    ]
    MM._TF32_TRANSPOSE_MIN = 1
    if everything:
        for dt in F:
            cases += [(E.unary_fwd, op, m(dt)) for op in E.UNARY_OPS]
            cases += [(E.binary_fwd, op, m(dt), t(dt)) for op in E.BINARY_OPS if op not in P.names("binary", "int")]
            cases += [(E.pointwise_bwd, op, m(dt), m(dt), *a) for op, a in BACKWARD_PARAMS.items()]
            cases += [(RNG.rand, (99,), dt, _Gen()), (RNG.randn, (99,), dt, _Gen())]
        for dt in INTS + [D.bool_]:
            cases += [(E.unary_fwd, op, m(dt)) for op in ("neg", "abs", "sign", "square", "relu", "logical_not")]
            cases += [(E.binary_fwd, op, m(dt), m(dt)) for op in E.BINARY_OPS if op not in P.names("binary", "float")]
        cases += [(E.copy_, m(d), t(s)) for s in A for d in A] + [(E.fill_, m(dt), 1) for dt in A]
        for dt in A:
            cases += [(R.reduce, op, empty(s, dt), d, False) for op in R.REDUCE_OPS
                      for s, d in [((4096, 512), (1,)), ((512, 4096), (0,)), ((10**6,), ())]]
            cases += [(R.arg_reduce, op, empty((64, 4096), dt), 1, False) for op in ("argmax", "argmin")]
        # NOTE: large enough to autotune (every config compiles)
        cases += [(MM.matmul, empty((1024, 512), dt), empty((512, 384), dt)) for dt in F + [D.int32]]
        cases += [(MM.matmul, view((1024, 512), (1, 1024), D.float32), empty((512, 384), D.float32), True)]
    else:
        # the table's configurations (split-K among them), then one pinned config for the rest
        U._sms = 132  # NOTE: no device to ask (the persistent kernel's grid)
        cases += [(_with_table, MM, empty, view, *p) for p in [
            (1024, 2048, 512, D.bfloat16, False), (1024, 1024, 1024, D.float16, False, True)]]  # persistent, TMA
        cases += [(_with_table, MM, empty, view, *p) for p in [
            (64, 100, 1000, D.float32, False), (64, 100, 1000, D.bfloat16, False),  # split-K
            (100, 32, 3, D.float16, False), (1000, 100, 64, D.float32, True, True)]]  # tf32: x.T staged K-major
        MM.pin_config(BLOCK_M=128, BLOCK_N=128, BLOCK_K=32, GROUP_M=8, num_warps=4, num_stages=4)
        cases += [(MM.matmul, empty((512, 256), dt), empty((256, 384), dt)) for dt in (D.float32, D.bfloat16)]
        cases += [(MM.matmul, view((512, 256), (1, 512), D.float16), empty((3, 256, 384), D.float16), True)]
    rc = compile_cases(cases, compiled)
    from tritongrad.kernels import matmul_persistent
    if matmul_persistent.HAS_TMA and not everything and "matmul_tma_persistent_kernel" not in compiled:
        print("the persistent TMA matmul kernel was never compiled")
        return 1
    return rc


def _with_table(MM, empty, view, M, N, K, dtype, tf32, a_transposed=False):
    """M x K @ K x N through matmul's table (no pinned config); an M-major A (x.T, as backward
    passes it) if `a_transposed`."""
    pinned, MM._pinned = MM._pinned, None
    MM._configs.clear()
    try:
        a = view((M, K), (1, M), dtype) if a_transposed else empty((M, K), dtype)
        MM.matmul(a, empty((K, N), dtype), tf32)
    finally:
        MM._pinned = pinned
        MM._configs.clear()


class _Gen:
    def _philox(self, n):
        return 5, 0


if __name__ == "__main__":
    sys.exit(main(len(sys.argv) > 1 and sys.argv[1] == "all"))

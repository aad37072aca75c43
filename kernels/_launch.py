"""Launch compiled kernels without Triton's generic dispatch.

`kernel[grid](*args)` on a @triton.jit function binds the arguments, computes their
specialization (types, pointer alignment, integers equal to 1 or divisible by 16), hashes that
into a cache key and looks the compiled variant up: tens of microseconds of Python per launch,
more than a small kernel takes on the GPU. `Launcher(kernel)[grid](*args)` does the same launch:
the first call of each argument signature goes through Triton (compiling or autotuning if
needed) and keeps the compiled kernel it returns; later calls with that signature call the
compiled kernel's launcher directly.

NOTE: why this is safe. The signature below distinguishes every property Triton specializes
on (pointer dtype and 16-byte alignment; int == 1, int % 16 == 0 and its width; float and bool
types; constexpr values; options such as num_warps; the autotuner's key values), and a few it
may not. Two calls with equal signatures therefore get the same compiled variant from Triton,
so calling that variant directly launches exactly what Triton would have launched. An argument
of a kind not listed (anything without a signature here) always takes Triton's path.
"""
import os

from triton import knobs
from triton.runtime.autotuner import Autotuner

from ..cuda.array import DeviceArray
from ..cuda.streams import current_stream
from . import _utils as U

ENABLED = not U.INTERPRET and os.environ.get("TRITONGRAD_TRITON_DISPATCH", "0") in ("", "0")
_MAX_VARIANTS = 4096  # per kernel: a bound on the cache, not an LRU (signatures in a loop repeat)
_RAW = 1 << 20  # NOTE: ints below this in magnitude are keyed by value (finer than Triton, and cheap)
_CONST, _PLAIN, _NO_SPEC = 0, 1, 2  # parameter kinds: constexpr, specialized, do_not_specialize


def _int_sig(v):
    # NOTE: Triton's integer specialization: ==1 (a constant), %16 (divisibility), i32/i64/u64
    return v == 1, v % 16 == 0, -2**31 <= v < 2**31, v < 2**63


class _Unknown(Exception):
    """An argument this module cannot sign: the launch goes through Triton."""


def _sig(a, kind):
    t = type(a)
    if kind == _CONST:
        return t, a  # NOTE: the value itself (tl dtypes, strings, numbers, None are hashable)
    if t is DeviceArray:
        return a.dtype, a.data_ptr() % 16 == 0
    if t is int:
        return (-2**31 <= a < 2**31, a < 2**63) if kind == _NO_SPEC else _int_sig(a)
    if t is float or t is bool or a is None:
        return t
    if hasattr(a, "data_ptr") and hasattr(a, "dtype"):
        return a.dtype, a.data_ptr() % 16 == 0
    raise _Unknown


_I32 = (True, True)  # _sig of a do_not_specialize int that fits in int32


def _signature(args, kinds):
    # NOTE: the common cases inline (a function call per argument was most of a launch's cost):
    # small plain ints keyed by value (sizes and strides), device arrays, do_not_specialize ints
    # by width only (seeds and sizes that change every call must not miss), non-constexpr floats
    return [a if (t := type(a)) is int and kind == _PLAIN and -_RAW < a < _RAW else
            (a.dtype, a.data_ptr() & 15 == 0) if t is DeviceArray else
            _I32 if t is int and kind == _NO_SPEC and -2**31 <= a < 2**31 else
            t if t is float and kind != _CONST else _sig(a, kind)
            for a, kind in zip(args, kinds)]


class Launcher:
    """`Launcher(kernel)[grid](*args, **kwargs)` launches as `kernel[grid](...)` does, faster."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.autotuner = kernel if isinstance(kernel, Autotuner) else None
        fn = kernel.fn if self.autotuner else kernel
        self.params = fn.params
        self.arg_names = fn.arg_names
        self.kinds = [_CONST if p.is_constexpr else _NO_SPEC if p.do_not_specialize else _PLAIN for p in fn.params]
        self.tuned_on = [self.arg_names.index(k) for k in self.autotuner.keys] if self.autotuner else []
        self.variants = {}

    def __getitem__(self, grid):
        return lambda *args, **kwargs: self.launch(grid, args, kwargs)

    def launch(self, grid, args, kwargs):
        runtime = knobs.runtime
        enter, exit_ = runtime.launch_enter_hook, runtime.launch_exit_hook
        # NOTE: a profiler's hooks (a HookChain is set when not empty) see launches only through Triton
        if (enter is not None and getattr(enter, "calls", True)) or (
                exit_ is not None and getattr(exit_, "calls", True)):
            return self.kernel[grid](*args, **kwargs)
        try:
            sig = _signature(args, self.kinds)
            if self.tuned_on:
                sig.extend(args[i] for i in self.tuned_on if i < len(args))  # NOTE: the autotuner picks by value
            key = tuple(sig), tuple(kwargs.items())
            hit = self.variants.get(key)
        except (_Unknown, TypeError):  # TypeError: an unhashable constexpr value
            return self.kernel[grid](*args, **kwargs)
        if hit is None:
            return self._first_launch(key, grid, args, kwargs)
        run, function, packed, tail, chosen, c_launch = hit
        if tail:
            args = args + tuple([kwargs[v] if from_kwargs else v for from_kwargs, v in tail])
        if callable(grid):
            grid = grid({**dict(zip(self.arg_names, args)), **kwargs, **chosen})
        n = len(grid)
        if c_launch is not None:
            launch, coop, pdl, annotations, ksig = c_launch
            launch(grid[0], grid[1] if n > 1 else 1, grid[2] if n > 2 else 1, current_stream().handle, function,
                   coop, pdl, packed, None, None, None, None, None, annotations, ksig, args)
        else:
            run(grid[0], grid[1] if n > 1 else 1, grid[2] if n > 2 else 1, current_stream().handle,
                function, packed, None, None, None, *args)

    def _first_launch(self, key, grid, args, kwargs):
        compiled = self.kernel[grid](*args, **kwargs)
        if compiled is None or not hasattr(compiled, "packed_metadata"):  # e.g. a compile still pending
            return compiled
        # The parameters after the positional arguments, in order: from kwargs, the autotuner's
        # chosen config, or their defaults (the launcher takes every parameter, constexprs too).
        chosen = dict(self.autotuner.best_config.kwargs) if self.autotuner else {}
        tail = []
        for p in self.params[len(args):]:
            if p.name in chosen:
                tail.append((False, chosen[p.name]))
            elif p.name in kwargs:
                tail.append((True, p.name))
            elif p.has_default:
                tail.append((False, p.default))
            else:  # NOTE: Triton accepted the call, so this cannot happen; keep the generic path
                return compiled
        if len(self.variants) >= _MAX_VARIANTS:
            self.variants.clear()
        self.variants[key] = (compiled.run, compiled.function, compiled.packed_metadata, tuple(tail), chosen,
                              _c_launch(compiled.run))
        return compiled


def _c_launch(run):
    """(C launch function, its fixed arguments) of a compiled kernel's CudaLauncher, or None.

    NOTE: CudaLauncher.__call__ (triton >= 3.8) makes two closures and asks for scratch memory
    before calling its C launch function: about a microsecond per launch, for nothing when the
    kernel needs no scratch memory and no sanitizer, which this checks once. Other launchers
    (triton 3.6/3.7 compile one per signature) keep their own path.
    """
    try:
        if run.global_scratch_size or run.profile_scratch_size or getattr(run, "gsan_enabled", False):
            return None
        return run.launch, run.launch_cooperative_grid, run.launch_pdl, run.arg_annotations, run.kernel_signature
    except AttributeError:
        return None


_launchers = {}


def fast(kernel):
    """The Launcher of `kernel` (a @triton.jit function or a triton.autotune of one), made once.

    Under Triton's interpreter (emulated CUDA), or with TRITONGRAD_TRITON_DISPATCH=1, the kernel
    itself: every launch goes through Triton.
    """
    if not ENABLED:
        return kernel
    # NOTE: keyed by id: hashing a JITFunction hashes its cache key (a microsecond); the Launcher
    # holds the kernel, so the id stays its own
    got = _launchers.get(id(kernel))
    if got is None:
        got = _launchers[id(kernel)] = Launcher(kernel)
    return got

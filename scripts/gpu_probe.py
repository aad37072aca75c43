"""Measurements for tuning on a GPU, printed as short tables (the benchmarks give the full suite).

    PYTHONPATH=. python scripts/gpu_probe.py [oom] [overhead] [profile] [reduce] [matmul] [dim0] [transpose]

- oom:      what a failed over-sized allocation does to the device's free memory (seen by nvidia-smi)
- overhead: time per step of Rosenbrock and the tutorial network, Triton's dispatch against ours
- profile:  cProfile of those steps (our dispatch), the top functions by own and cumulative time
- reduce:   sum over all / dim 0 / dim 1 of 2^26 float32, the chosen tiling against others
- matmul:   4096^3 per config, bf16 and tf32 (B N-major and K-major)
- dim0:     sum over dim 0 of (65536, 1024) float32 against TILE_STRIDED, WARPS_STRIDED, PROGRAMS
- transpose: tf32's transposing copy of B (4096^2 float32) against its tile and warps, then 4096^3 tf32
Kernel times are triton.testing.do_bench medians (CUDA events); step times are wall clock.
"""
import cProfile
import io
import pstats
import subprocess
import sys
import threading
import time

import numpy as np

import tritongrad as tg
from tritongrad.cuda import memory
from tritongrad.kernels import _launch, reduction

WHAT = sys.argv[1:] or ["oom", "overhead", "profile", "reduce", "matmul", "dim0", "transpose"]


def bench(fn):
    import triton  # NOTE: after tritongrad, which sets TRITON_INTERPRET for emulated CUDA

    return triton.testing.do_bench(fn, warmup=25, rep=100, return_mode="median")


def oom():
    used = []
    smi = subprocess.Popen(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-lms", "20"],
                           stdout=subprocess.PIPE, text=True)
    threading.Thread(target=lambda: [used.append(int(line)) for line in smi.stdout], daemon=True).start()
    time.sleep(0.5)
    before = max(used[-5:]) if used else None
    free, total = tg.cuda._runtime.check(tg.cuda._runtime.cu.cuMemGetInfo())
    try:
        memory.empty((2 * total,), tg.uint8)
    except tg.cuda.OutOfMemoryError as e:
        print("oom:", str(e)[:120])
    after_free = tg.cuda._runtime.check(tg.cuda._runtime.cu.cuMemGetInfo())[0]
    time.sleep(0.5)
    smi.terminate()
    print(f"oom: free before {free / 2**30:.2f} GiB, after {after_free / 2**30:.2f} GiB; nvidia-smi used MiB: "
          f"before {before}, max during {max(used) if used else None}, last {used[-1] if used else None}")


def rosenbrock_step():
    x = tg.tensor([-1.0, 1.0], device="cuda", requires_grad=True)

    def step():
        f = (1 - x[0]) ** 2 + 5 * (x[1] - x[0] ** 2) ** 2
        f.backward()
        with tg.no_grad():
            x.sub_(0.01 * x.grad)
            x.grad.zero_()
    return step


def tutorial_step():
    tg.manual_seed(0)
    x, y = tg.randn(64, 1000, device="cuda"), tg.randn(64, 10, device="cuda")
    w1 = tg.randn(1000, 100, device="cuda", requires_grad=True)
    w2 = tg.randn(100, 10, device="cuda", requires_grad=True)

    def step():
        loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
        loss.backward()
        with tg.no_grad():
            for w in (w1, w2):
                w.sub_(1e-6 * w.grad)
                w.grad.zero_()
    return step


def per_step(step, n=300):
    for _ in range(20):
        step()
    tg.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(n):
        step()
    tg.cuda.synchronize()
    return (time.perf_counter() - t) / n * 1e6


def overhead():
    for name, make in (("rosenbrock", rosenbrock_step), ("tutorial", tutorial_step)):
        got = {}
        for mode in ("triton", "ours", "triton", "ours"):
            _launch.ENABLED = mode == "ours" and not _launch.U.INTERPRET
            got.setdefault(mode, []).append(per_step(make()))
        _launch.ENABLED = not _launch.U.INTERPRET
        print(f"overhead {name}: us per step, Triton's dispatch {got['triton']}, ours {got['ours']}")


def profile():
    for name, make in (("rosenbrock", rosenbrock_step), ("tutorial", tutorial_step)):
        step = make()
        per_step(step, 50)
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(200):
            step()
        tg.cuda.synchronize()
        prof.disable()
        for order, count in (("tottime", 15), ("cumulative", 30)):
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats(order).print_stats(count)
            print(f"profile {name} (200 steps) by {order}\n" + "\n".join(
                line for line in out.getvalue().splitlines() if line.strip() and "Ordered by" not in line))


def reduce():
    """Sum of 2^26 float32 over all, dim 0 and dim 1 of two shapes, against the tiling constants."""
    gb = 2**26 * 4 / 1e9
    print("reduce 2^26 fp32, GB/s: TILE(all tiles) WARPS PROGRAMS | 8192x8192 all dim0 dim1 | 65536x1024 dim0 dim1")
    xs = tg.randn(8192, 8192, device="cuda"), tg.randn(65536, 1024, device="cuda")
    chosen = reduction.TILE, reduction.TILE_NARROW, reduction.TILE_STRIDED, reduction.WARPS, reduction.PROGRAMS
    for tile, warps, progs in [(None, None, None), (4096, 4, 528), (4096, 8, 528), (8192, 8, 528), (4096, 8, 264)]:
        if tile is not None:
            reduction.TILE = reduction.TILE_NARROW = reduction.TILE_STRIDED = tile
            reduction.WARPS, reduction.PROGRAMS = warps, progs
        reduction._reduce_plan.cache_clear()
        t = [bench(lambda x=x, d=d: x.sum(d)) for x, dims in zip(xs, [((), 0, 1), (0, 1)]) for d in dims]
        label = "chosen" if tile is None else f"{tile:6d} {warps:2d} {progs:5d}"
        print(f"  {label} | " + " ".join(f"{gb / (ms * 1e-3):6.0f}" for ms in t))
    reduction.TILE, reduction.TILE_NARROW, reduction.TILE_STRIDED, reduction.WARPS, reduction.PROGRAMS = chosen
    reduction._reduce_plan.cache_clear()
    copy_src, copy_dst = tg.randn(2**26, device="cuda"), tg.empty(2**26, device="cuda")
    print(f"copy_ 2^26 fp32: {2 * gb / (bench(lambda: copy_dst.copy_(copy_src)) * 1e-3):.0f} GB/s")


def matmul():
    from tritongrad.kernels import matmul as mm
    n = 4096
    configs = mm._CONFIGS + [(128, 256, 64, 8, 8, 4), (256, 128, 64, 8, 8, 4), (128, 128, 64, 8, 4, 4),
                             (128, 256, 32, 8, 8, 4), (128, 128, 32, 8, 8, 5), (64, 128, 64, 8, 4, 4)]
    cases = [("bf16 NN", tg.bfloat16, False, False), ("tf32 NN", tg.float32, True, False),
             ("tf32 NT", tg.float32, True, True)]
    for label, dtype, tf32, b_kmajor in cases:
        a = tg.randn(n, n, device="cuda", dtype=dtype)
        b = tg.randn(n, n, device="cuda", dtype=dtype).t().contiguous().t() if b_kmajor else \
            tg.randn(n, n, device="cuda", dtype=dtype)
        tg.backends.cuda.matmul.allow_tf32 = tf32
        out = []
        for cfg in configs:
            m_, n_, k_, g, w, s = cfg
            if (m_ + n_) * k_ * (2 if dtype is tg.bfloat16 else 4) * s > 220 * 1024:
                continue
            mm.pin_config(BLOCK_M=m_, BLOCK_N=n_, BLOCK_K=k_, GROUP_M=g, num_warps=w, num_stages=s)
            try:
                ms = bench(lambda a=a, b=b: a @ b)
            except Exception as e:  # noqa: BLE001  (a config that does not compile or run: reported)
                print(f"matmul {label} {cfg}: {type(e).__name__} {str(e)[:80]}")
                continue
            out.append((2 * n**3 / (ms * 1e-3) / 1e12, cfg))
        mm.pin_config()
        auto = 2 * n**3 / (bench(lambda a=a, b=b: a @ b) * 1e-3) / 1e12
        out.sort(reverse=True)
        print(f"matmul {label} 4096^3 TFLOP/s: autotuned {auto:.0f}; best configs " +
              ", ".join(f"{t:.0f} {c}" for t, c in out[:5]) + f"; worst {out[-1][0]:.0f}")
    tg.backends.cuda.matmul.allow_tf32 = False


def dim0():
    x = tg.randn(65536, 1024, device="cuda")
    gb = x.numel() * 4 / 1e9
    chosen = reduction.TILE_STRIDED, reduction.WARPS_STRIDED, reduction.PROGRAMS
    rows = []
    for tile in (2048, 4096, 8192):
        for warps in (4, 8):
            for progs in (264, 528, 1056):
                reduction.TILE_STRIDED, reduction.WARPS_STRIDED, reduction.PROGRAMS = tile, warps, progs
                reduction._reduce_plan.cache_clear()
                rows.append((gb / (bench(lambda: x.sum(0)) * 1e-3), tile, warps, progs))
    reduction.TILE_STRIDED, reduction.WARPS_STRIDED, reduction.PROGRAMS = chosen
    reduction._reduce_plan.cache_clear()
    rows.sort(reverse=True)
    print("dim0 (65536, 1024) GB/s by (TILE_STRIDED, WARPS_STRIDED, PROGRAMS): " +
          ", ".join(f"{r[0]:.0f} {r[1:]}" for r in rows))


def transpose():
    from tritongrad.kernels import matmul as mm
    from tritongrad.kernels._launch import fast
    n = 4096
    b = tg.randn(n, n, device="cuda")._data
    bt = memory.empty((n, n), tg.float32)
    rows = []
    for block in (32, 64, 128):
        for warps in (4, 8):
            grid = (_launch.U.cdiv(n, block), _launch.U.cdiv(n, block))

            def run(grid=grid, block=block, warps=warps):
                fast(mm.transpose_kernel)[grid](b, bt, n, n, n, 1, BLOCK=block, num_warps=warps)
            rows.append((2 * n * n * 4 / 1e9 / (bench(run) * 1e-3), block, warps))
    rows.sort(reverse=True)
    print("transpose 4096^2 fp32 GB/s by (BLOCK, warps): " + ", ".join(f"{r[0]:.0f} {r[1:]}" for r in rows))
    mm._T_BLOCK, mm._T_WARPS = rows[0][1], rows[0][2]
    tg.backends.cuda.matmul.allow_tf32 = True
    for size in (4096, 8192):
        x, y = tg.randn(size, size, device="cuda"), tg.randn(size, size, device="cuda")
        ms = bench(lambda x=x, y=y: x @ y)
        print(f"tf32 {size}^3 NN with the best transpose: {2 * size**3 / (ms * 1e-3) / 1e12:.0f} TFLOP/s")
    tg.backends.cuda.matmul.allow_tf32 = False


if __name__ == "__main__":
    import triton

    print(f"device: {tg.cuda.get_device_name()}  triton {triton.__version__}  numpy {np.__version__}")
    for what in WHAT:
        t0 = time.time()
        globals()[what]()
        print(f"[{what}: {time.time() - t0:.0f} s]", flush=True)

"""kernels/linalg.py's SVD kernels (one-sided Jacobi in registers, and in global memory for larger sizes)
compile for an H100 (sm_90) with the installed Triton's real compiler, without a GPU: test_kernels_compile.py's
mocked driver and fake memory, in a subprocess. Each case's compile time is printed; the largest tile
(256 x 64, float64) is the one whose register use is watched. Run it alone, as a script (a fresh
TRITON_CACHE_DIR to time real compiles): python tests/test_kernels_compile_linalg.py
"""
import sys

from test_kernels_compile import NEEDS_TRITON, compile_cases, compile_in_subprocess, compile_setup


@NEEDS_TRITON
def test_svd_kernel_compiles_for_sm90():
    compile_in_subprocess(__file__, timeout=1800)


def main():
    compiled, empty, _ = compile_setup()

    from tritongrad import _dtype as D
    from tritongrad.kernels import linalg as L
    cases = [
        (L.svd, empty((5, 3), D.float32)), (L.svd, empty((2, 3, 5), D.float64)),  # small tiles, both sides
        (L.svd, empty((4, 100, 40), D.float32)),  # 128 x 64
        (L.svd, empty((256, 64), D.float32)), (L.svd, empty((64, 256), D.float64)),  # the largest tiles
        # _svd_big_kernel (global-memory scratch): one row block, then several blocks of 1024 rows
        (L.svd, empty((65, 65), D.float32)), (L.svd, empty((300, 2), D.float64)),
        (L.svd, empty((2, 70, 3000), D.float32)), (L.svd, empty((3000, 70), D.float64)),
    ]
    return compile_cases(cases, compiled, timed=True)


if __name__ == "__main__":
    sys.exit(main())

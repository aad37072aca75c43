"""kernels/linalg.py's SVD kernel (one-sided Jacobi in registers) compiles for an H100 (sm_90) with the
installed Triton's real compiler, without a GPU: test_kernels_compile.py's mocked driver and fake memory,
in a subprocess. Each case's compile time is printed; the largest tile (256 x 64, float64) is the one
whose register use is watched. Run it alone, as a script (a fresh TRITON_CACHE_DIR to time real
compiles): python tests/test_kernels_compile_linalg.py
"""
import sys

from test_kernels_compile import NEEDS_TRITON, compile_cases, compile_in_subprocess


@NEEDS_TRITON
def test_svd_kernel_compiles_for_sm90():
    compile_in_subprocess(__file__, timeout=1800)


def main():
    from test_kernels_compile import _fake_memory, _install_mock_driver
    compiled = _install_mock_driver()
    import tritongrad.cuda
    tritongrad.cuda._lazy_init = lambda: None  # NOTE: no device: kernels/__init__ must not initialize one
    empty, _ = _fake_memory()

    from tritongrad import _dtype as D
    from tritongrad.kernels import _launch, _utils as U, linalg as L
    _launch.ENABLED = False  # NOTE: every launch through Triton's dispatch, which compiles
    assert not U.INTERPRET
    cases = [
        (L.svd, empty((5, 3), D.float32)), (L.svd, empty((2, 3, 5), D.float64)),  # small tiles, both sides
        (L.svd, empty((4, 100, 40), D.float32)),  # 128 x 64
        (L.svd, empty((256, 64), D.float32)), (L.svd, empty((64, 256), D.float64)),  # the largest tiles
    ]
    return compile_cases(cases, compiled, timed=True)


if __name__ == "__main__":
    sys.exit(main())

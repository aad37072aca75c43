"""kernels/index_ops.py's own kernels (tril / triu, nonzero, unravel, cat, roll, masked_fill_, index_term)
and its copy-based primitives (flip, diagonal, diag_embed) compile for an H100 (sm_90) with the installed
Triton's real compiler, without a GPU: test_kernels_compile.py's mocked driver and fake memory, in a
subprocess.
Run it alone, as a script: python tests/test_kernels_compile_index.py
"""
import sys

from test_kernels_compile import NEEDS_TRITON, compile_cases, compile_in_subprocess, compile_setup


@NEEDS_TRITON
def test_index_kernels_compile_for_sm90():
    compile_in_subprocess(__file__, timeout=1800)


def main():
    compiled, empty, view = compile_setup()
    import numpy as np

    from tritongrad import _dtype as D
    from tritongrad.kernels import index_ops as K
    K.memory.to_host = lambda a: np.zeros(a.shape, np.int64)  # NOTE: nonzero's count read-back
    K.memory.from_host = lambda a, dtype: empty(a.shape, dtype)  # NOTE: cat's table of inputs
    cases = [
        (K.tril, empty((8, 1024, 1024), D.bfloat16), 0, False),
        (K.tril, view((64, 33), (1, 64), D.float32), -1, True),
        (K.nonzero, empty((4096, 50), D.bool_)),
        (K.nonzero, empty((1000,), D.float32)),
        (K.unravel, empty((4096,), D.int64), (64, 64, 3)),
        (K.flip, empty((64, 1000), D.float32), (0, 1)),
        (K.roll, empty((64, 1000), D.float16), (3,), (1,)),
        (K.diagonal, empty((100, 100), D.float32), 1),
        (K.diag_embed, empty((100,), D.float64), -2, (102, 102)),
        (K.cat, [empty((64, 100), D.float32), view((64, 30), (1, 64), D.float32)], 1),
        (K.cat, [empty((8, 1, 1024), D.bfloat16)] * 3, 1),
        (K.roll, view((64, 100), (1, 64), D.float32), (-5, 7), (0, 1)),
        (K.masked_fill_, empty((64, 100), D.float32), empty((100,), D.bool_), -1e9),
        (K.index_term, view((32, 1), (1, 1), D.int64), 0, 27, 10, empty((32,), D.int64), False),
        (K.index_term, empty((4096,), D.int32), 1, 50304, 1, None, False),  # NOTE: the bounds check: nn's test
        (K.masked_fill_, empty((8, 1024, 1024), D.float16), empty((1024, 1024), D.bool_), 0),
    ]
    return compile_cases(cases, compiled)


if __name__ == "__main__":
    sys.exit(main())

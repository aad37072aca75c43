"""kernels/sort.py's kernels (the register sort of short rows, the chunk sort and the merge passes of
long rows, randperm's argsort) compile for an H100 (sm_90) with the installed Triton's real compiler,
without a GPU: test_kernels_compile.py's mocked driver and fake memory, in a subprocess. Each case's
compile time is printed: the register networks' code grows as n log^2 n, so their size is watched.
Run it alone, as a script (a fresh TRITON_CACHE_DIR to time real compiles):
python tests/test_kernels_compile_sort.py
"""
import sys

from test_kernels_compile import NEEDS_TRITON, compile_cases, compile_in_subprocess, compile_setup


@NEEDS_TRITON
def test_sort_kernels_compile_for_sm90():
    compile_in_subprocess(__file__, timeout=1800)


def main():
    from test_kernels_compile import _Gen
    compiled, empty, view = compile_setup()

    from tritongrad import _dtype as D
    from tritongrad.kernels import random as RNG, sort as S
    cases = [
        # short rows (at most BLOCK_SORT): one register sort of several rows
        (S.sort, empty((1, 65), D.float32), 1, False, None), (S.sort, empty((9, 2), D.float64), 0, True, 3),
        (S.sort, empty((2, 7), D.int64), 1, True, 5), (S.argsort, empty((3, 100), D.bfloat16), 1, True),
        # longer rows: the chunk sort per dtype and direction, the int64 merge and each final merge
        (S.sort, empty((2, 1500), D.float32), 1, False, None),  # chunk sort + final merge
        (S.sort, view((5000, 2), (1, 5000), D.float64), 0, True, 10),  # + the int64 merge passes (topk)
        (S.sort, empty((3000,), D.float16), 0, False, None), (S.sort, empty((1100,), D.bool_), 0, False, None),
        (RNG.randperm, 70000, _Gen()),  # randperm: int64 keys, indices only
    ]
    return compile_cases(cases, compiled, timed=True)


if __name__ == "__main__":
    sys.exit(main())

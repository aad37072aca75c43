"""The nn kernels (layer norm, attention, gather / scatter) compile for an H100 (sm_90) with the
installed Triton's real compiler, without a GPU: the same mocked driver and fake device memory as
tests/test_kernels_compile.py, in a subprocess (interpreting is a process-wide choice).

A representative variant of each kernel by default; every case with TRITONGRAD_COMPILE_ALL=1
(minutes). Run it alone, as a script: python tests/test_kernels_compile_nn.py [all]
"""
import sys

from test_kernels_compile import NEEDS_TRITON, compile_cases, compile_in_subprocess, compile_setup


@NEEDS_TRITON
def test_nn_kernels_compile_for_sm90():
    compile_in_subprocess(__file__, timeout=1800)


def main(everything):
    compiled, empty, view = compile_setup()
    import numpy as np

    from tritongrad import _dtype as D
    from tritongrad.kernels import attention as A, index as I, layernorm as LN
    I.memory.to_host = lambda a: np.full(a.shape, 2**62)  # NOTE: the bounds check's read-back: no bad index

    def ln(shape, ns, dt, wb=True):
        x, w = empty(shape, dt), empty(ns, dt) if wb else None
        y, mean, rstd = LN.layer_norm_fwd(x, ns, w, w)
        LN.layer_norm_bwd(y, x, mean, rstd, w, w)

    def attn(dt, causal, T=1024, Dh=64, mask=None):
        q = view((8, 12, T, Dh), (T * 3 * 12 * Dh, Dh, 3 * 12 * Dh, 1), dt)  # heads split from a qkv buffer
        o, lse = A.attention_fwd(q, q, q, mask, causal)
        A.attention_bwd(o, q, q, q, o, lse, mask, causal)

    idx = empty((4096,), D.int64)
    cases = [
        (ln, (8192, 768), (768,), D.bfloat16), (ln, (4, 40000), (40000,), D.float32),  # the loop variant
        (attn, D.bfloat16, True),
        (I.index_select, empty((50304, 768), D.bfloat16), 0, idx),
        (I.index_select, view((33, 65), (1, 33), D.float32), 1, empty((7,), D.int32), True),
        (I.gather, empty((64, 1000), D.float32), 1, empty((64, 5), D.int64)),
        (I.index_add_, empty((50304, 768), D.float32), 0, idx, empty((4096, 768), D.float32)),
        (I.index_add_, empty((50304, 768), D.bfloat16), 0, idx, empty((4096, 768), D.bfloat16), 1, False, 0),
        (I.index_add_, empty((100, 3), D.float64), 0, idx, empty((4096, 3), D.float64), 2.0),
        (I.index_add_, empty((100,), D.int64), 0, idx, empty((4096,), D.int64)),
        (I.index_copy_, empty((100, 7), D.float16), 0, empty((100,), D.int32), empty((100, 7), D.float16)),
        (I.scatter_, empty((64, 1000), D.float32), 1, empty((64, 5), D.int64), empty((64, 5), D.float32), "add"),
        (I.scatter_, empty((64, 1000), D.int8), 1, empty((64, 5), D.int64), empty((64, 5), D.int8)),
        (I.index_select, empty((33, 65), D.bool_), 0, empty((7,), D.int64)),
        (I.index_add_, empty((9, 4), D.bool_), 0, empty((5,), D.int64), empty((5, 4), D.bool_)),
        # the out-of-place scatters' checked writes (scatter_kernel's CHECK)
        (I.scatter_, empty((64, 1000), D.float32), 1, empty((64, 5), D.int64), empty((64, 5), D.float32), None,
         I.IN_WRITE),
        (I.index_add_, empty((100, 3), D.float16), 0, idx, empty((4096, 3), D.float16), 1, True, None, I.IN_WRITE),
        (I.index_copy_, empty((100, 7), D.float32), 0, empty((100,), D.int64), empty((100, 7), D.float32), False,
         I.IN_WRITE),
    ]
    if everything:
        cases += [(ln, (8192, 768), (768,), D.float32), (ln, (64, 100), (100,), D.float16, False),
                  (ln, (16, 96), (96,), D.float64), (attn, D.float16, False, 1024, 128),
                  (attn, D.float32, False, 100, 48), (attn, D.float64, True, 50, 16),
                  (attn, D.bfloat16, False, 77, 64, empty((77, 77), D.bool_)),
                  (attn, D.float32, True, 77, 32, empty((1, 12, 77, 77), D.float32))]
    return compile_cases(cases, compiled)


if __name__ == "__main__":
    sys.exit(main(len(sys.argv) > 1 and sys.argv[1] == "all"))

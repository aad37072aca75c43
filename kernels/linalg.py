"""Linear algebra beyond matmul: the reduced SVD (ops/svd.py's primitive) has no Triton kernel yet.

A correct one for small matrices would be a one-sided Jacobi sweep per matrix (rotations of column pairs
until they are orthogonal), with a convergence test read back by the host; it is not written. Until it
is, the CUDA backend's `svd` raises, naming what is missing, before anything runs.
"""


def svd(a):
    """(U, S, Vh) of a on the device: not implemented."""
    raise NotImplementedError("linalg.svd / svdvals and the 2, -2 and 'nuc' matrix norms need a singular value "
                              "decomposition on the device, and tritongrad has no SVD kernel for CUDA yet: move the "
                              "tensor to the CPU (.cpu())")

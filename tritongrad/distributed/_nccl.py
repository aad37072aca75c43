"""Backend "nccl": NVIDIA's NCCL through its C API (ctypes on libnccl.so.2 from the nvidia-nccl-cu12/-cu13
wheel), on CUDA tensors, on tritongrad's current stream.

Each collective is queued on the stream tritongrad's kernels use, so it runs after the kernels that
produced its input and before those that read its output, with no host synchronisation: the Work it
returns is complete as far as the host can tell (later work on the stream waits for it), as with
PyTorch's NCCL backend when the collective runs on the current stream.

Signatures from nccl.h (stable since NCCL 2.7; ncclAvg since 2.10):
    ncclGetUniqueId(ncclUniqueId*)                       ncclUniqueId = struct { char internal[128]; }
    ncclCommInitRank(ncclComm_t*, int nranks, ncclUniqueId id, int rank)       (id passed by value)
    ncclAllReduce(sendbuf, recvbuf, size_t count, datatype, op, comm, stream)
    ncclBroadcast(sendbuf, recvbuf, count, datatype, int root, comm, stream)
    ncclReduce(sendbuf, recvbuf, count, datatype, op, int root, comm, stream)
    ncclAllGather(sendbuf, recvbuf, size_t sendcount, datatype, comm, stream)
    ncclReduceScatter(sendbuf, recvbuf, size_t recvcount, datatype, op, comm, stream)
    ncclSend(sendbuf, count, datatype, int peer, comm, stream)    ncclRecv(recvbuf, count, ...)
    ncclGroupStart()  ncclGroupEnd()  ncclCommDestroy(comm)  const char* ncclGetErrorString(ncclResult_t)
"""
import ctypes
import glob
import os
import sys

from ._common import ReduceOp, Work

# ncclDataType_t and ncclRedOp_t (nccl.h); bool travels as uint8, as in PyTorch
_DTYPES = {"int8": 0, "uint8": 1, "bool": 1, "int32": 2, "int64": 4, "float16": 6, "float32": 7, "float64": 8,
           "bfloat16": 9}
_OPS = {ReduceOp.SUM: 0, ReduceOp.PRODUCT: 1, ReduceOp.MAX: 2, ReduceOp.MIN: 3, ReduceOp.AVG: 4}


class _UniqueId(ctypes.Structure):
    _fields_ = [("internal", ctypes.c_char * 128)]


def _load_library():
    """libnccl.so.2: from the nvidia-nccl-cuXX wheel (nvidia/<nccl or cuXX>/lib/), else the system's."""
    candidates = sorted(p for base in sys.path for p in glob.glob(os.path.join(base, "nvidia", "*", "lib",
                                                                                "libnccl.so*")))
    for name in [*candidates, "libnccl.so.2"]:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.ncclGetErrorString.restype = ctypes.c_char_p
        lib.ncclCommInitRank.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, _UniqueId, ctypes.c_int]
        return lib
    raise RuntimeError("backend 'nccl' needs NCCL: pip install 'tritongrad[nccl-cu13]' (or nccl-cu12, matching "
                       "your CUDA driver's major version), which brings the nvidia-nccl wheel")


def _check_device():
    from .. import cuda

    if cuda.is_emulated():
        raise RuntimeError("backend 'nccl' needs a real CUDA GPU, and CUDA is emulated here "
                           "(TRITONGRAD_EMULATE_CUDA=1): use backend 'mpi'")
    if not cuda.is_available():
        raise RuntimeError("backend 'nccl' needs a CUDA GPU, and none is usable here: use backend 'mpi' on the CPU")
    cuda.init()


def _ptr(t):
    # NOTE: Tensor has no data_ptr() yet; a CUDA tensor's array is a DeviceArray, which has one
    return ctypes.c_void_p(t._data.data_ptr())


class NCCLBackend:
    name = "nccl"

    def __init__(self, rank, size, share, timeout):
        _check_device()
        self.lib = _load_library()
        self.rank, self.size = rank, size
        uid = _UniqueId()
        if rank == 0:
            self._call("ncclGetUniqueId", ctypes.byref(uid))
        ctypes.memmove(uid.internal, share(bytes(uid.internal), timeout), 128)
        self.comm = ctypes.c_void_p()
        self._call("ncclCommInitRank", ctypes.byref(self.comm), size, uid, rank)

    def _call(self, fn, *args):
        result = getattr(self.lib, fn)(*args)
        if result != 0:
            raise RuntimeError(f"NCCL error in {fn} on rank {self.rank}: "
                               f"{self.lib.ncclGetErrorString(result).decode()} (ncclResult_t {result})")

    def close(self):
        if self.comm is not None:
            self._call("ncclCommDestroy", self.comm)
            self.comm = None

    def _args(self, t):
        """(pointer, element count, ncclDataType_t) of a contiguous CUDA tensor."""
        if t.device.type != "cuda":
            raise ValueError(f"backend 'nccl' works on CUDA tensors, got a tensor on {t.device}")
        if t.dtype.name not in _DTYPES:
            raise TypeError(f"backend 'nccl' has no type for {t.dtype}")
        return _ptr(t), ctypes.c_size_t(t.numel()), ctypes.c_int(_DTYPES[t.dtype.name])

    def _run(self, fn, *args):
        from ..cuda import current_stream

        self._call(fn, *args, self.comm, ctypes.c_void_p(current_stream().handle))
        return Work()

    def _grouped(self, pairs):
        """Point-to-point transfers issued together (one ncclGroupStart/End): ('send'|'recv', tensor, peer)."""
        self._call("ncclGroupStart")
        try:
            for kind, t, peer in pairs:
                p, n, dt = self._args(t)
                self._run("ncclSend" if kind == "send" else "ncclRecv", p, n, dt, ctypes.c_int(peer))
        finally:
            self._call("ncclGroupEnd")
        return Work()

    def all_reduce(self, t, op):
        p, n, dt = self._args(t)
        return self._run("ncclAllReduce", p, p, n, dt, ctypes.c_int(_OPS[op]))

    def broadcast(self, t, src):
        p, n, dt = self._args(t)
        return self._run("ncclBroadcast", p, p, n, dt, ctypes.c_int(src))

    def all_gather_into(self, out, t):
        p, n, dt = self._args(t)
        return self._run("ncclAllGather", p, self._args(out)[0], n, dt)

    def reduce_scatter(self, out, t, op):
        p, n, dt = self._args(out)
        return self._run("ncclReduceScatter", self._args(t)[0], p, n, dt, ctypes.c_int(_OPS[op]))

    def reduce(self, t, dst, op):
        p, n, dt = self._args(t)
        return self._run("ncclReduce", p, p, n, dt, ctypes.c_int(_OPS[op]), ctypes.c_int(dst))

    def gather(self, out, t, dst):
        if self.rank != dst:
            return self._grouped([("send", t, dst)])
        chunks = out.view(self.size, -1)
        chunks[dst].copy_(t.reshape(-1))
        return self._grouped([("recv", chunks[r], r) for r in range(self.size) if r != dst])

    def scatter(self, out, t, src):
        if self.rank != src:
            return self._grouped([("recv", out, src)])
        chunks = t.view(self.size, -1)
        out.view(-1).copy_(chunks[src])
        return self._grouped([("send", chunks[r], r) for r in range(self.size) if r != src])

    def send(self, t, dst, tag):
        return self._grouped([("send", t, dst)])

    def recv(self, t, src, tag):
        if src is None:
            raise NotImplementedError("backend 'nccl': recv needs src= (NCCL has no receive from any source)")
        work = self._grouped([("recv", t, src)])
        work.result = src
        return work

    def barrier(self):
        from .. import cuda, zeros

        self.all_reduce(zeros(1, device="cuda"), ReduceOp.SUM)
        cuda.synchronize()
        return Work()

"""Backend "mpi": collectives through mpi4py on host memory (CUDA tensors staged through the host).

Every collective is MPI's non-blocking form (Iallreduce, Ibcast, ...) and a Work whose wait()
polls the request: polling is what lets a waiting rank notice that another rank failed (see
_PeerFailures) or that the group's timeout passed, where MPI's own Wait would block forever.
"""
import atexit
import os
import sys
import time

from ._common import DistBackendError, ReduceOp, Work, host_array, poll, seconds

_NOTICE_BYTES = 1024


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError("backend 'mpi' needs mpi4py and an MPI library: pip install 'tritongrad[mpi]' (mpi4py "
                           "and the mpich wheel), or mpi4py built against your cluster's MPI") from e
    return MPI


class _PeerFailures:
    """Tells the other ranks when this one dies of an uncaught exception, and hears when they do.

    A rank blocked in a collective whose peer died would wait forever: MPI does not notice. So an
    uncaught exception (sys.excepthook) sends a short notice to every other rank on a private
    communicator, and every wait also tests a receive posted there: a notice makes the waiting rank
    raise DistBackendError naming the failed rank and its error. The failing rank then waits up to
    1 s for the others' own notices (a rank waiting in a collective notices within microseconds),
    since mpiexec kills the remaining ranks as soon as one exits with an error, and exits without
    MPI_Finalize (which would wait for the others).
    """

    def __init__(self, MPI, comm):
        self.MPI, self.comm = MPI, comm.Dup()
        self.heard = set()
        self.buf = bytearray(_NOTICE_BYTES)
        self.status = MPI.Status()
        self._post()
        self.previous_hook = sys.excepthook
        sys.excepthook = self._excepthook

    def _post(self):
        self.request = self.comm.Irecv(self.buf, source=self.MPI.ANY_SOURCE, tag=0)

    def _take(self):
        """(rank, message) of a notice that arrived, or None."""
        if not self.request.Test(self.status):
            return None
        src, n = self.status.Get_source(), self.status.Get_count(self.MPI.BYTE)
        self.heard.add(src)
        message = bytes(self.buf[:n]).decode(errors="replace")
        self._post()
        return src, message

    def check(self, what):
        notice = self._take()
        if notice is not None:
            raise DistBackendError(f"{what}: rank {notice[0]} failed with {notice[1]}")

    def _excepthook(self, kind, value, tb):
        self.previous_hook(kind, value, tb)
        notice = f"{kind.__name__}: {value}".encode()[:_NOTICE_BYTES]
        me, size = self.comm.Get_rank(), self.comm.Get_size()
        sends = [self.comm.Isend(notice, dest=r, tag=0) for r in range(size) if r != me]
        deadline = time.monotonic() + 1.0
        while len(self.heard - {me}) < size - 1 and time.monotonic() < deadline:
            if self._take() is None:
                time.sleep(1e-3)
        self.MPI.Request.Testall(sends)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)

    def close(self):
        if sys.excepthook == self._excepthook:
            sys.excepthook = self.previous_hook
        self.request.Cancel()
        self.request.Wait()
        self.comm.Free()


class MPIBackend:
    name = "mpi"

    def __init__(self, timeout):
        MPI = _import_mpi()
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD.Dup()  # NOTE: our own context: user code on COMM_WORLD cannot match ours
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.timeout = seconds(timeout)
        self.peers = _PeerFailures(MPI, MPI.COMM_WORLD) if self.size > 1 else None
        self._ops = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
                     ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}
        atexit.register(self.close)  # NOTE: runs before mpi4py's MPI_Finalize (registered earlier)

    def close(self):
        if self.comm is None:
            return
        if self.peers is not None:
            self.peers.close()
        self.comm.Free()
        self.comm = None

    # --- the Work of one request ---------------------------------------------------------------------
    def _work(self, request, what, status=None):
        def wait(timeout):
            limit = self.timeout if timeout is None else seconds(timeout)
            check = self.peers.check if self.peers is not None else (lambda what: None)
            poll(lambda: request.Test(status), limit, lambda: check(f"{what} on rank {self.rank}"),
                 f"{what} on rank {self.rank}")
        return Work(wait, lambda: request.Test(status))

    def _finish(self, work, arr, copy_back, op=None):
        """AVG is SUM then a division here (MPI has no average); staged memory goes back to the device."""
        if op is ReduceOp.AVG:
            work.then(lambda: arr.__itruediv__(self.size))
        if copy_back is not None:
            work.then(copy_back)
        return work

    # --- collectives on tensors (arguments already checked by tritongrad.distributed) -------------------
    def all_reduce(self, t, op):
        arr, back = host_array(t, write=True)
        req = self.comm.Iallreduce(self.MPI.IN_PLACE, arr, op=self._ops[op])
        return self._finish(self._work(req, "all_reduce"), arr, back, op)

    def broadcast(self, t, src):
        arr, back = host_array(t, write=True)
        return self._finish(self._work(self.comm.Ibcast(arr, root=src), "broadcast"), arr, back)

    def all_gather_into(self, out, t):
        send, _ = host_array(t, write=False)
        recv, back = host_array(out, write=True)
        return self._finish(self._work(self.comm.Iallgather(send, recv), "all_gather"), recv, back)

    def reduce_scatter(self, out, t, op):
        send, _ = host_array(t, write=False)
        recv, back = host_array(out, write=True)
        req = self.comm.Ireduce_scatter_block(send, recv, op=self._ops[op])
        return self._finish(self._work(req, "reduce_scatter"), recv, back, op)

    def reduce(self, t, dst, op):
        arr, back = host_array(t, write=self.rank == dst)
        if self.rank == dst:
            req = self.comm.Ireduce(self.MPI.IN_PLACE, arr, op=self._ops[op], root=dst)
            return self._finish(self._work(req, "reduce"), arr, back, op)
        return self._work(self.comm.Ireduce(arr, None, op=self._ops[op], root=dst), "reduce")

    def gather(self, out, t, dst):
        send, _ = host_array(t, write=False)
        recv, back = host_array(out, write=True) if out is not None else (None, None)
        return self._finish(self._work(self.comm.Igather(send, recv, root=dst), "gather"), recv, back)

    def scatter(self, out, t, src):
        send, _ = host_array(t, write=False) if t is not None else (None, None)
        recv, back = host_array(out, write=True)
        return self._finish(self._work(self.comm.Iscatter(send, recv, root=src), "scatter"), recv, back)

    def send(self, t, dst, tag):
        arr, _ = host_array(t, write=False)
        return self._work(self.comm.Isend(arr, dest=dst, tag=tag), "send")

    def recv(self, t, src, tag):
        arr, back = host_array(t, write=True)
        status = self.MPI.Status()
        source = self.MPI.ANY_SOURCE if src is None else src
        work = self._finish(self._work(self.comm.Irecv(arr, source=source, tag=tag), "recv", status), arr, back)
        return work.then(lambda: setattr(work, "result", status.Get_source()))

    def barrier(self):
        return self._work(self.comm.Ibarrier(), "barrier")

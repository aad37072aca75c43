"""Train the digits MLP of train_digits.py with DistributedDataParallel on N processes.

Each process trains on its share of every epoch (DistributedSampler: a permutation drawn from the
seed and the epoch, cut into N equal shares), and DistributedDataParallel averages the gradients
across processes during backward, so every process takes the same optimizer step and the replicas
stay identical (checked at the end). With N processes and --batch-size B per process, one step sees
N x B images. On the CPU the processes talk through MPI; on GPUs (one per process) through NCCL.

    pip install 'tritongrad[mpi]'                       # mpi4py and the mpich wheel (CPU)
    python -m tritongrad.distributed.run --nproc-per-node 2 examples/train_ddp.py --epochs 10
    mpiexec -n 2 python examples/train_ddp.py           # the same, started by MPI directly
    python -m tritongrad.distributed.run --nproc-per-node 2 examples/train_ddp.py --device cuda  # NCCL

Only rank 0 prints the progress and the test accuracy.
"""
import argparse
import os
import sys
import time

import numpy as np

import tritongrad as tg
import tritongrad.distributed as dist
from tritongrad.nn.parallel import DistributedDataParallel
from tritongrad.utils.data import DistributedSampler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_digits import build_model, evaluate, split  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="passes over each process's shard of the training set")
    parser.add_argument("--device", default="cpu", help="cpu (MPI between the processes) or cuda (one GPU per "
                                                        "process, NCCL)")
    parser.add_argument("--backend", default=None, help="mpi or nccl (default: nccl on cuda, mpi on cpu)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per process per step")
    parser.add_argument("--lr", type=float, default=3e-3, help="AdamW's learning rate")
    parser.add_argument("--hidden", type=int, default=128, help="width of the hidden layer")
    parser.add_argument("--dropout", type=float, default=0.1, help="dropout probability after the hidden layer")
    parser.add_argument("--seed", type=int, default=0, help="base seed (rank r starts from seed + r)")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    backend = args.backend or ("nccl" if args.device.startswith("cuda") else "mpi")
    dist.init_process_group(backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    x_train, y_train, x_test, y_test = split(args.seed)
    # NOTE: a different initialisation per rank on purpose: DDP's construction copies rank 0's
    model = build_model(args.hidden, args.dropout, args.seed + rank).to(args.device)
    ddp = DistributedDataParallel(model)
    tg.manual_seed(args.seed + 1000 + rank)  # NOTE: each rank its own dropout masks
    opt = tg.optim.AdamW(ddp.parameters(), lr=args.lr, weight_decay=1e-4)
    loss_fn = tg.nn.CrossEntropyLoss()
    sampler = DistributedSampler(range(len(y_train)), shuffle=True, seed=args.seed)
    bs, step, start = args.batch_size, 0, time.perf_counter()
    batches = (len(sampler) + bs - 1) // bs  # NOTE: equal shares, so the same count on every rank
    if rank == 0:
        print(f"{world} processes ({backend}, {args.device}): {len(sampler)} training images each per epoch, "
              f"{batches} steps of {world} x {bs} images")
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        order = np.fromiter(iter(sampler), dtype=np.int64)
        xe, ye = tg.tensor(x_train[order], device=args.device), tg.tensor(y_train[order], device=args.device)
        total = 0.0
        for b in range(batches):
            loss = loss_fn(ddp(xe[b * bs:(b + 1) * bs]), ye[b * bs:(b + 1) * bs])
            opt.zero_grad()
            loss.backward()  # NOTE: returns with every .grad averaged over the ranks
            opt.step()
            total += loss.item()
            step += 1
            if step == args.max_steps:
                break
        if rank == 0:
            print(f"epoch {epoch + 1:3d}/{args.epochs}  loss {total / (b + 1):.4f} (rank 0's share)")
        if step == args.max_steps:
            break
    same = _replicas_identical(model)
    accuracy = evaluate(model, tg.tensor(x_test, device=args.device), tg.tensor(y_test, device=args.device))
    if rank == 0:
        print(f"trained {step} steps in {time.perf_counter() - start:.2f} s; replicas identical on all {world} "
              f"ranks: {same}; test accuracy {100 * accuracy:.2f}%")
    dist.destroy_process_group()
    return {"accuracy": accuracy, "steps": step, "identical": same}


def _replicas_identical(model):
    """True when every rank holds exactly the same parameters (the MAX and MIN over ranks agree)."""
    for p in model.parameters():
        hi, lo = p.detach().clone(), p.detach().clone()
        dist.all_reduce(hi, op=dist.ReduceOp.MAX)
        dist.all_reduce(lo, op=dist.ReduceOp.MIN)
        if not bool((hi == lo).all()):
            return False
    return True


if __name__ == "__main__":
    main()

"""DistributedSampler: each rank's share of a dataset's indices (torch.utils.data.distributed.DistributedSampler)."""
import math

import numpy as np

from .sampler import Sampler


class DistributedSampler(Sampler):
    """Yields the indices of `dataset` that rank `rank` of `num_replicas` trains on in this epoch.

    The shares are disjoint and equal in size: without drop_last the (shuffled) index list is padded
    by repeating its first indices up to a multiple of num_replicas; with drop_last its tail is cut
    instead. Rank r takes every num_replicas-th index starting at r. With shuffle=True the order is a
    permutation drawn from seed + epoch, the same on every rank: call set_epoch(epoch) at the start of
    each epoch, or every epoch repeats the first one's order. (The permutation comes from NumPy's
    generator, so it differs from PyTorch's for the same seed; everything else is PyTorch's.)

    Example:
        >>> sampler = DistributedSampler(dataset)   # rank and world size from the process group
        >>> for epoch in range(epochs):
        ...     sampler.set_epoch(epoch)
        ...     for i in sampler: ...
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            from ... import distributed as dist

            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.epoch, self.drop_last, self.shuffle, self.seed = 0, drop_last, shuffle, seed
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[:self.total_size]
        else:
            padding = self.total_size - len(indices)
            indices += (indices * math.ceil(padding / max(len(indices), 1)))[:padding]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Use the permutation of this epoch (with shuffle=True); call it before each epoch's iteration."""
        self.epoch = epoch

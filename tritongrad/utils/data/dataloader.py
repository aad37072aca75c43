"""DataLoader: iterate a map-style dataset in (shuffled) batches, as torch.utils.data.DataLoader."""
import warnings

import numpy as np

from ._collate import default_collate, default_convert
from ._random import draw_seed
from .sampler import BatchSampler, RandomSampler, SequentialSampler

_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset")


class DataLoader:
    """Batches of samples from `dataset`, collated (by default stacked into tensors).

    Args:
        dataset: a map-style dataset (__getitem__ and __len__).
        batch_size: samples per batch; None turns batching off (each sample is converted alone).
        shuffle: a fresh random order each epoch, drawn from `generator`.
        sampler / batch_sampler: the order of indices (of lists of indices), instead of shuffle.
        num_workers: accepted, but tritongrad loads every batch in the main process (a warning says
            so when it is > 0); pin_memory and the other worker options are accepted and ignored.
        collate_fn: a list of samples -> a batch (default_collate).
        drop_last: drop the last batch when it is smaller than batch_size.
        generator: the random state of shuffling (None: tritongrad's global generator, so that
            tritongrad.manual_seed(s) fixes the order; see _random.py for what is accepted).

    Example:
        >>> loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True, drop_last=True)
        >>> for xb, yb in loader: ...
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if num_workers > 0:
            warnings.warn(f"tritongrad's DataLoader has no worker processes: num_workers={num_workers} loads every "
                          "batch in the main process", UserWarning, stacklevel=2)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and "
                                 "drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.num_workers = num_workers
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.collate_fn = collate_fn or (default_collate if batch_sampler is not None else default_convert)
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.__initialized = True

    def __setattr__(self, attr, val):
        if self.__dict__.get("_DataLoader__initialized") and attr in _FROZEN:
            raise ValueError(f"{attr} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self):
        dataset, collate = self.dataset, self.collate_fn
        if not isinstance(self.generator, np.random.Generator):
            draw_seed(self.generator)  # NOTE: PyTorch's iterator draws its workers' base seed first: same stream
        if not self._auto_collation:
            for i in self.sampler:
                yield collate(dataset[i])
            return
        fetch_many = getattr(dataset, "__getitems__", None)
        for indices in self.batch_sampler:
            yield collate(fetch_many(indices) if fetch_many else [dataset[i] for i in indices])

    def __len__(self):
        return len(self._index_sampler)

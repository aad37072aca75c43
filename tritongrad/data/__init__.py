"""Small datasets shipped inside the package (no download): see README.md here for their origin."""
import gzip
import os

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))


def load_digits():
    """The 1,797 handwritten digits of scikit-learn's load_digits(), as NumPy arrays.

    Returns:
        (images, labels): float32 (1797, 64) pixel values 0..16 (8x8 images, row by row) and
        int64 (1797,) digits 0..9.
    """
    with gzip.open(os.path.join(_HERE, "digits.csv.gz"), "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.shape != (1797, 65):
        raise RuntimeError(f"digits.csv.gz: expected 1797 rows of 65 values, got {table.shape}")
    return table[:, :64].astype(np.float32), table[:, 64].copy()


__all__ = ["load_digits"]

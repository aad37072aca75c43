"""Writes names.txt: 4000 made-up, name-like words for examples/makemore_mlp.py.

No public names list ships with the repository, so the data is generated: syllables (an onset
consonant cluster, a vowel, an optional coda) joined 2 to 3 at a time, with a few name-like endings,
drawn by Python's `random` with a fixed seed (the file is the same on every run and Python 3
version). Run `python examples/data/make_names.py` to regenerate it.
"""
import os
import random

ONSETS = ("b br c ch cl d dr f fl g gr h j k kr l m n p pr r s sh st t th tr v w y z "
          "b d l m n r s t k").split() + [""] * 6
VOWELS = "a e i o u a e i o a e ai ea ie ou y".split()
CODAS = "n l r s m th nd rt ll nn".split() + [""] * 14
ENDINGS = "a ia ie y ah el en on an lyn ette ina ley son er is".split()


def name(rng):
    syllables = [rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(rng.choice((1, 2, 2, 3)))]
    word = "".join(syllables)
    if rng.random() < 0.45:
        word += rng.choice(ENDINGS)
    return word


def main(n=4000, seed=1234):
    rng = random.Random(seed)
    names, seen = [], set()
    while len(names) < n:
        w = name(rng)
        if 3 <= len(w) <= 12 and w not in seen:
            seen.add(w)
            names.append(w)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "names.txt")
    with open(path, "w") as f:
        f.write("\n".join(names) + "\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Lines per file of the framework (tritongrad/ and kernels/), with totals: a budget to watch.

    python scripts/loc.py [DIR ...] [--sort lines]

Columns: all lines, code lines (neither blank nor a comment-only line; docstrings count as code),
and the path. Files of more than 400 lines are marked: files should fit in a head.
"""
import argparse
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LONG = 400


def count(path):
    """(all lines, code lines) of one Python file."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    code = sum(1 for line in lines if line.strip() and not line.lstrip().startswith("#"))
    return len(lines), code


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", default=["tritongrad", "kernels"], help="directories (default: %(default)s)")
    parser.add_argument("--sort", choices=["path", "lines"], default="path")
    args = parser.parse_args(argv)
    total_lines = total_code = files = 0
    print(f"{'lines':>7} {'code':>7}  file")
    for d in args.dirs:
        base = (ROOT / d) if not pathlib.Path(d).is_absolute() else pathlib.Path(d)
        rows = [(p, *count(p)) for p in sorted(base.rglob("*.py")) if "__pycache__" not in p.parts]
        if args.sort == "lines":
            rows.sort(key=lambda r: -r[1])
        lines = sum(r[1] for r in rows)
        code = sum(r[2] for r in rows)
        print(f"{d}/")
        for p, n, c in rows:
            mark = "  <- long" if n > LONG else ""
            print(f"{n:7d} {c:7d}  {p.relative_to(ROOT) if ROOT in p.parents else p}{mark}")
        print(f"{lines:7d} {code:7d}  {d}/ total ({len(rows)} files)\n")
        total_lines, total_code, files = total_lines + lines, total_code + code, files + len(rows)
    print(f"{total_lines:7d} {total_code:7d}  all ({files} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

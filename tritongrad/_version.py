"""The version: one string, the `version` in pyproject.toml, read from the installed package's metadata."""
import functools
import os
import re


@functools.cache
def version():
    from importlib import metadata

    try:
        return metadata.version("tritongrad")
    except metadata.PackageNotFoundError:
        pass
    # A source tree that was never installed (PYTHONPATH=checkout): read pyproject.toml beside it.
    try:
        with open(os.path.join(os.path.dirname(os.path.dirname(__file__)), "pyproject.toml"), encoding="utf-8") as f:
            found = re.search(r'^version\s*=\s*"([^"]+)"', f.read(), re.MULTILINE)
    except OSError:
        found = None
    return found.group(1) if found else "0+unknown"

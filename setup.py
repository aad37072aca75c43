"""The package list, which pyproject.toml cannot state: tritongrad's packages plus kernels/, which stays at
the repository root (the user's layout) and is installed as tritongrad.kernels (package-dir in
pyproject.toml). Everything else about the package is in pyproject.toml."""
from setuptools import find_namespace_packages, setup

found = find_namespace_packages(include=["tritongrad", "tritongrad.*"],
                                exclude=["*.__pycache__", "tritongrad.kernels*"])  # the link's view of kernels/
setup(packages=[*found, "tritongrad.kernels"])

"""Rendezvous for backends that need one (NCCL): who am I, how many are we, and a way for rank 0
to hand the others a few bytes (NCCL's unique id).

init_method, as in PyTorch:
    env://               RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT from the environment (torchrun's
                         and tritongrad.distributed.run's); rank= and world_size= arguments win
    tcp://HOST:PORT      rank= and world_size= given as arguments
    file:///PATH         a file every rank can see (a shared file system); rank 0 writes it
"""
import os
import socket
import struct
import time
import urllib.parse


def _env_int(name):
    value = os.environ.get(name)
    if value is None:
        raise ValueError(f"Error initializing tritongrad.distributed using env:// rendezvous: environment variable "
                         f"{name} expected, but not set")
    return int(value)


def _check_rank(rank, world_size):
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} out of range for world_size {world_size}")


def resolve(init_method, world_size, rank):
    """(rank, world_size, share) where share(data) hands rank 0's bytes to every rank."""
    url = urllib.parse.urlparse(init_method or "env://")
    if url.scheme == "env":
        rank = _env_int("RANK") if rank == -1 else rank
        world_size = _env_int("WORLD_SIZE") if world_size == -1 else world_size
        _check_rank(rank, world_size)
        host, port = os.environ.get("MASTER_ADDR"), os.environ.get("MASTER_PORT")
        if world_size > 1 and (host is None or port is None):
            _env_int("MASTER_ADDR" if host is None else "MASTER_PORT")
        address = (host, int(port)) if world_size > 1 else None
    elif url.scheme in ("tcp", "file"):
        if rank < 0 or world_size < 1:
            raise ValueError(f"init_method {init_method!r} needs rank= and world_size= arguments")
        address = (url.hostname, url.port) if url.scheme == "tcp" else url.path
        _check_rank(rank, world_size)
    else:
        raise ValueError(f"unsupported init_method {init_method!r}: use env://, tcp://HOST:PORT or file:///PATH")

    def share(data, timeout):
        if world_size == 1:
            return data
        return (_tcp_share if isinstance(address, tuple) else _file_share)(address, rank, world_size, data, timeout)
    return rank, world_size, share


def _tcp_share(address, rank, world_size, data, timeout):
    """Rank 0 listens on address and sends `data` (length-prefixed) to each of the others."""
    deadline = time.monotonic() + timeout
    if rank == 0:
        with socket.create_server(address, reuse_port=False) as server:
            server.settimeout(timeout)
            for _ in range(world_size - 1):
                conn, _ = server.accept()
                with conn:
                    conn.sendall(struct.pack("!Q", len(data)) + data)
        return data
    while True:
        try:
            with socket.create_connection(address, timeout=max(deadline - time.monotonic(), 0.1)) as conn:
                (n,) = struct.unpack("!Q", _recv_exactly(conn, 8))
                return _recv_exactly(conn, n)
        except OSError as e:  # NOTE: rank 0 may not listen yet: retry until the timeout
            if time.monotonic() > deadline:
                raise RuntimeError(f"rendezvous: rank {rank} could not reach rank 0 at {address[0]}:{address[1]} "
                                   f"within {timeout:g} s ({e})") from e
            time.sleep(0.1)


def _recv_exactly(conn, n):
    chunks = bytearray()
    while len(chunks) < n:
        chunk = conn.recv(n - len(chunks))
        if not chunk:
            raise ConnectionError("rendezvous: rank 0 closed the connection early")
        chunks += chunk
    return bytes(chunks)


def _file_share(path, rank, world_size, data, timeout):
    """Rank 0 writes `data` to path (atomically, by rename); the others read it when it appears."""
    if rank == 0:
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return data
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"rendezvous: rank {rank} found no {path} after {timeout:g} s: did rank 0 start?")
        time.sleep(0.05)
    with open(path, "rb") as f:
        return f.read()

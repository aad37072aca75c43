"""tg.save / tg.load: round trips of tensors, nested containers, module and optimizer state dicts;
the safe format (no pickle); clear errors for truncated and corrupted files; a failed save never
destroys the previous file; map_location.
"""
import io
import json
import os
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import tritongrad as tg
from tritongrad import nn, optim, serialization


def assert_same(a, b):
    assert type(a) is type(b) and a.dtype is b.dtype and a.shape == b.shape and a.device == b.device
    assert a.requires_grad == b.requires_grad
    np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())


DTYPES = [tg.float32, tg.float64, tg.float16, tg.int64, tg.int32, tg.int8, tg.uint8, tg.bool]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (1,), (97,), (33, 65), (3, 1, 17), (0, 4)])
def test_tensor_round_trip(tmp_path, rng, dtype, shape):
    a = np.asarray(rng.standard_normal(shape) * 50)  # NOTE: an array, cast (a NumPy scalar is range-checked)
    t = tg.tensor(a > 0 if dtype is tg.bool else a, dtype=dtype)
    path = tmp_path / "t.tg"
    tg.save(t, path)
    assert_same(tg.load(path), t)


def test_views_and_device_round_trip(tmp_path, device, rng):
    base = tg.tensor(rng.standard_normal((6, 5)), device=device)
    views = {"t": base.t(), "slice": base[1:5:2, 1:], "expand": base[0:1].expand(3, 5)}
    tg.save(views, tmp_path / "v.tg")
    loaded = tg.load(tmp_path / "v.tg")
    for k, v in views.items():
        assert_same(loaded[k], v)
        assert loaded[k].is_contiguous()


def test_nested_objects_round_trip(tmp_path):
    w = tg.randn(3, requires_grad=True)
    obj = {"a": [1, 2.5, None, True, "text", (3, w)], 0: {"nan": float("nan"), "inf": float("-inf")},
           "od": OrderedDict([("z", 1), ("y", 2)]), "dtype": tg.float16, "device": tg.device("cpu"),
           "again": w, "np": np.float32(1.5), "empty": {}, "tuple": ()}
    tg.save(obj, tmp_path / "o.tg")
    got = tg.load(tmp_path / "o.tg")
    assert got["a"][:5] == [1, 2.5, None, True, "text"] and isinstance(got["a"][5], tuple)
    assert_same(got["a"][5][1], w)
    assert got["again"] is got["a"][5][1]  # one tensor saved twice is loaded as one object
    assert np.isnan(got[0]["nan"]) and got[0]["inf"] == float("-inf") and 0 in got
    assert type(got["od"]) is OrderedDict and list(got["od"]) == ["z", "y"]
    assert got["dtype"] is tg.float16 and got["device"] == tg.device("cpu")
    assert got["np"] == 1.5 and got["empty"] == {} and got["tuple"] == ()


def test_module_state_dict_round_trip(tmp_path, device):
    tg.manual_seed(0)
    src = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
    tg.save(src.state_dict(), tmp_path / "m.tg")
    sd = tg.load(tmp_path / "m.tg")
    assert isinstance(sd, OrderedDict) and list(sd) == list(src.state_dict())
    dst = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
    dst.load_state_dict(sd)
    x = tg.randn(5, 4, device=device)
    np.testing.assert_array_equal(dst(x).detach().cpu().numpy(), src(x).detach().cpu().numpy())


def test_parameters_stay_parameters(tmp_path):
    p = nn.Parameter(tg.randn(2, 2))
    q = nn.Parameter(tg.randn(2), requires_grad=False)
    tg.save([p, q], tmp_path / "p.tg")
    lp, lq = tg.load(tmp_path / "p.tg")
    assert_same(lp, p)
    assert_same(lq, q)


def test_optimizer_state_round_trip_resumes(tmp_path, rng):
    def make():
        tg.manual_seed(0)
        model = nn.Linear(3, 2)
        return model, optim.AdamW(model.parameters(), lr=0.05, amsgrad=True)

    data = [(tg.tensor(rng.standard_normal((4, 3)), dtype=tg.float32), tg.tensor(rng.standard_normal((4, 2)),
                                                                                  dtype=tg.float32))
            for _ in range(5)]

    def train(model, opt, batches):
        for x, y in batches:
            opt.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            opt.step()

    full_model, full_opt = make()
    train(full_model, full_opt, data)
    model, opt = make()
    train(model, opt, data[:2])
    tg.save({"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 2}, tmp_path / "ckpt.tg")
    model2, opt2 = make()
    ckpt = tg.load(tmp_path / "ckpt.tg")
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optim"])
    assert ckpt["epoch"] == 2 and opt2.state[model2.weight]["step"].item() == 2.0
    train(model2, opt2, data[2:])
    for p, q in zip(model2.parameters(), full_model.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_file_objects(rng):
    buf = io.BytesIO()
    t = tg.tensor(rng.standard_normal(5))
    tg.save({"t": t}, buf)
    buf.seek(0)
    assert_same(tg.load(buf)["t"], t)


def test_format_is_documented_zip_without_pickle(tmp_path):
    tg.save({"w": tg.ones(2), "n": 3}, tmp_path / "f.tg")
    with zipfile.ZipFile(tmp_path / "f.tg") as zf:
        assert sorted(zf.namelist()) == ["tensors/0.npy", "tritongrad.json"]
        header = json.loads(zf.read("tritongrad.json"))
        assert all(info.compress_type == zipfile.ZIP_STORED for info in zf.infolist())
    assert header["format"] == "tritongrad" and header["version"] == 1
    assert header["root"] == {"t": "dict", "items": [
        ["w", {"t": "tensor", "id": 0, "dtype": "float32", "device": "cpu", "requires_grad": False,
               "parameter": False}], ["n", 3]]}


def test_unsupported_objects_are_refused(tmp_path):
    with pytest.raises(TypeError, match="cannot store an object of type object: .*no code"):
        tg.save({"x": object()}, tmp_path / "x.tg")
    with pytest.raises(TypeError, match="set"):
        tg.save({1, 2}, tmp_path / "x.tg")
    assert not os.listdir(tmp_path)  # nothing written, not even a temporary file


def test_pickled_arrays_are_refused(tmp_path):
    """A crafted checkpoint whose .npy holds Python objects (pickle) is rejected, not unpickled."""
    path = tmp_path / "evil.tg"
    arr = io.BytesIO()
    np.save(arr, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    header = {"format": "tritongrad", "version": 1, "root": {"t": "tensor", "id": 0, "dtype": "float32",
                                                              "device": "cpu", "requires_grad": False}}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("tensors/0.npy", arr.getvalue())
        zf.writestr("tritongrad.json", json.dumps(header))
    with pytest.raises(RuntimeError, match="not a valid checkpoint.*pickle"):
        tg.load(path)


def _good_file(tmp_path, rng):
    path = tmp_path / "good.tg"
    tg.save({"w": tg.tensor(rng.standard_normal((33, 65))), "b": tg.tensor(rng.standard_normal(97))}, path)
    return path, path.read_bytes()


@pytest.mark.parametrize("cut", [0.99, 0.5, 0.1, 10])
def test_truncated_file_gives_clear_error(tmp_path, rng, cut):
    path, data = _good_file(tmp_path, rng)
    n = cut if isinstance(cut, int) else int(len(data) * cut)
    path.write_bytes(data[:n])
    with pytest.raises(RuntimeError, match="is not a valid checkpoint.*truncated or corrupted"):
        tg.load(path)


def test_corrupted_tensor_bytes_give_clear_error(tmp_path, rng):
    path, data = _good_file(tmp_path, rng)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("tensors/0.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200  # inside the array data
    bad = bytearray(data)
    bad[start] ^= 0xFF
    path.write_bytes(bytes(bad))
    with pytest.raises(RuntimeError, match="Bad CRC-32.*truncated or corrupted"):
        tg.load(path)


def test_not_a_checkpoint(tmp_path):
    (tmp_path / "text.tg").write_text("hello")
    with pytest.raises(RuntimeError, match="not a valid checkpoint"):
        tg.load(tmp_path / "text.tg")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("a.txt", "x")
    with pytest.raises(RuntimeError, match="no tritongrad.json entry"):
        tg.load(tmp_path / "other.zip")
    with pytest.raises(FileNotFoundError):
        tg.load(tmp_path / "missing.tg")


def test_failed_save_keeps_previous_file(tmp_path, rng, monkeypatch):
    path, data = _good_file(tmp_path, rng)

    def fail(fh, header, tensors):
        fh.write(b"partial data")
        raise OSError("disk full")

    monkeypatch.setattr(serialization, "_write", fail)
    with pytest.raises(OSError, match="disk full"):
        tg.save({"w": tg.zeros(3)}, path)
    assert path.read_bytes() == data
    assert os.listdir(tmp_path) == ["good.tg"]  # the temporary file is gone
    monkeypatch.undo()
    assert tg.load(path)["b"].shape == (97,)


def test_save_replaces_atomically_with_normal_permissions(tmp_path):
    path = tmp_path / "p.tg"
    tg.save(1, path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(path, 0o640)
    tg.save(2, path)
    assert tg.load(path) == 2 and path.stat().st_mode & 0o777 == 0o640


def test_map_location(tmp_path, device):
    t = tg.randn(3, device=device)
    tg.save({"t": t}, tmp_path / "d.tg")
    assert tg.load(tmp_path / "d.tg", map_location="cpu")["t"].device == tg.device("cpu")
    assert tg.load(tmp_path / "d.tg", map_location={str(t.device): "cpu"})["t"].device == tg.device("cpu")
    assert tg.load(tmp_path / "d.tg")["t"].device == t.device


def test_cuda_checkpoint_without_cuda(tmp_path, monkeypatch):
    path = tmp_path / "c.tg"
    tg.save(tg.ones(2), path)
    with zipfile.ZipFile(path) as zf:  # rewrite the header as if the tensor had been on CUDA
        entries = {n: zf.read(n) for n in zf.namelist()}
    entries["tritongrad.json"] = entries["tritongrad.json"].replace(b'"device": "cpu"', b'"device": "cuda:0"')
    with zipfile.ZipFile(path, "w") as zf:
        for n, d in entries.items():
            zf.writestr(n, d)
    monkeypatch.setattr(tg.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="map_location='cpu'"):
        tg.load(path)
    assert tg.load(path, map_location="cpu").tolist() == [1.0, 1.0]


# --- hostile files: one error type (RuntimeError), memory bounded by the declared sizes ------------------
ROOT = {"t": "tensor", "id": 0, "dtype": "float32", "device": "cpu", "requires_grad": False}


def _npy_header(shape, descr="<f4"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _checkpoint(path, root=ROOT, tensors=(), header=None, compression=zipfile.ZIP_STORED):
    """A file in tg.save's format, written by hand: `tensors` are the .npy entries' bytes."""
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for i, raw in enumerate(tensors):
            zf.writestr(f"tensors/{i}.npy", raw)
        zf.writestr("tritongrad.json", header if header is not None else
                    json.dumps({"format": "tritongrad", "version": 1, "root": root}))
    return path


def _rejected(path, match="not a valid checkpoint"):
    with pytest.raises(RuntimeError, match=match):
        tg.load(path)


def test_hand_written_checkpoint_loads(tmp_path, rng):
    """The control for the cases below: the same construction with honest contents loads."""
    a = rng.standard_normal(7).astype(np.float32)
    for compression in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        path = _checkpoint(tmp_path / "ok.tg", tensors=[_npy_header((7,)) + a.tobytes()], compression=compression)
        np.testing.assert_array_equal(tg.load(path).numpy(), a)


def test_zip_bomb_memory_is_bounded_by_the_tensor(tmp_path):
    """32 MiB of deflated zeros (a 32 KiB file) load with a peak near the tensor's own 32 MiB (it was
    more than twice that: the whole entry as bytes, then the array)."""
    import tracemalloc

    n = 32 << 20
    path = tmp_path / "bomb.tg"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("tensors/0.npy", "w", force_zip64=True) as fh:
            fh.write(_npy_header((n // 4,)))
            for _ in range(n >> 20):
                fh.write(bytes(1 << 20))
        zf.writestr("tritongrad.json", json.dumps({"format": "tritongrad", "version": 1, "root": ROOT}))
    assert path.stat().st_size < 64 << 10
    tracemalloc.start()
    try:
        t = tg.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert t.shape == (n // 4,) and not t.numpy().any()
    assert peak < n + (4 << 20), f"peak {peak / 2**20:.1f} MiB for a {n >> 20} MiB tensor"


@pytest.mark.parametrize("count", [6, 8, 7 + 1000])
def test_entry_size_must_match_its_npy_header(tmp_path, rng, count):
    """Fewer bytes than the header declares, or trailing bytes after the array."""
    data = rng.standard_normal(count).astype(np.float32).tobytes()
    _rejected(_checkpoint(tmp_path / "n.tg", tensors=[_npy_header((7,)) + data]), "header declares 28 bytes")


@pytest.mark.parametrize("shape", [(2**40,), (2**31, 2**31, 2**31), (10**30,)])
def test_absurd_declared_shapes_are_refused_before_allocating(tmp_path, shape):
    _rejected(_checkpoint(tmp_path / "a.tg", tensors=[_npy_header(shape) + bytes(64)]), "header declares")


def test_absurd_declared_entry_size_is_refused(tmp_path, rng):
    """A central directory claiming a 1 TiB entry in a small file (edited by hand)."""
    path = _checkpoint(tmp_path / "z.tg", tensors=[_npy_header((7,)) + bytes(28)])
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")  # the first central directory record: tensors/0.npy
    data[central + 24:central + 28] = (2**32 - 1).to_bytes(4, "little")  # uncompressed size
    path.write_bytes(bytes(data))
    _rejected(path)


def test_trailing_bytes_after_the_archive(tmp_path, rng):
    path, data = _good_file(tmp_path, rng)
    path.write_bytes(data + b"\0" * 100)
    _rejected(path, "bytes after the end of the archive")


def test_deeply_nested_json_is_refused(tmp_path):
    _rejected(_checkpoint(tmp_path / "j.tg", header='{"format": "tritongrad", "version": 1, "root": '
                          + "[" * 100_000 + "]" * 100_000 + "}"), "nested too deeply")
    node = 1
    for _ in range(300):
        node = {"t": "list", "items": [node]}
    _rejected(_checkpoint(tmp_path / "n.tg", root=node), "nested more than 200 deep")


@pytest.mark.parametrize("root", [
    {"t": "list"}, {"t": "tuple", "items": 3}, {"t": "dict", "items": [[1]]}, {"t": "dict", "items": [3]},
    {"t": "dict", "items": [[{"t": "list", "items": []}, 1]]}, {"t": 3}, {"t": "tensor"},
    {**ROOT, "id": [0]}, {**ROOT, "id": True}, {**ROOT, "id": -1}, {**ROOT, "id": 5}, {**ROOT, "dtype": 5},
    {**ROOT, "dtype": "float128"}, {**ROOT, "device": "tpu:7"}, {**ROOT, "device": None},
    {**ROOT, "requires_grad": "yes"}, {**ROOT, "parameter": 1}, {**ROOT, "dtype": "float64"},
    {"t": "float", "v": 1}, {"t": "float", "v": "1.5"}, {"t": "dtype"}, {"t": "dtype", "name": ["float32"]},
    {"t": "device", "name": None}, {"t": "device", "name": "gpu"}, {"t": "set", "items": []}, [1, 2]])
def test_malformed_nodes_are_refused(tmp_path, rng, root):
    raw = _npy_header((3,)) + rng.standard_normal(3).astype(np.float32).tobytes()
    _rejected(_checkpoint(tmp_path / "m.tg", root=root, tensors=[raw]))


@pytest.mark.parametrize("header", ['{"format": "tritongrad", "version": 1}', "[]", '"text"', "{",
                                    '{"format": "tritongrad"}', '{"format": "tritongrad", "version": "1"}',
                                    '{"format": "tritongrad", "version": 1, "root": 1', "\xff"])
def test_malformed_headers_are_refused(tmp_path, header):
    """A header without its root is an error, not None; so are non-objects and broken JSON."""
    _rejected(_checkpoint(tmp_path / "h.tg", header=header))


def test_npy_entry_checks(tmp_path, rng):
    data = rng.standard_normal(3).astype(np.float32).tobytes()
    _rejected(_checkpoint(tmp_path / "d.tg", tensors=[_npy_header((3,), "<f8") + data + data]), "holds float64")
    _rejected(_checkpoint(tmp_path / "b.tg", tensors=[_npy_header((3,), ">f4") + data]), "holds >f4")
    _rejected(_checkpoint(tmp_path / "v.tg", tensors=[b"\x93NUMPY\x09\x00" + bytes(100)]), "format version")
    _rejected(_checkpoint(tmp_path / "m.tg", tensors=[]), "tensors/0.npy is missing")

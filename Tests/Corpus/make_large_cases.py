"""Writes the files of Tests/Corpus/large/: small on disk, large once read, for the memory-limit tests.

    python3 Tests/Corpus/make_large_cases.py      (needs numpy and h5py)

- gru4096_weights.h5: a tf-keras save_weights file of a GRU(4096) on 5 features, zeros, gzip'd inside
  HDF5 (about 0.2 MB on disk, 201 MB of float32 weights).
- member_400mb.keras: a .keras zip whose model.weights.h5 member inflates to 400 MB of zeros.
- big_config.h5.gz: Fixtures/tfkeras/grid_ra0_hardsig_fwd_last/model.h5 with a 31 MB model_config (the
  GRU's kernel_initializer holds a Constant of 2.4 million values); the weights are unchanged, so the
  fixture's outputs hold.
"""
import gzip
import json
import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests/Corpus/large"


def gru4096():
    units, features = 4096, 5
    with h5py.File(OUT / "gru4096_weights.h5", "w") as f:
        f.attrs["layer_names"] = [b"gru"]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.21.0"
        group = f.create_group("gru")
        names = [b"gru/gru_cell/kernel:0", b"gru/gru_cell/recurrent_kernel:0", b"gru/gru_cell/bias:0"]
        group.attrs["weight_names"] = names
        for name, shape in zip(names, [(features, 3 * units), (units, 3 * units), (3 * units,)]):
            dataset = group.create_dataset(name.decode(), shape=shape, dtype="<f4", compression="gzip",
                                           compression_opts=9, chunks=True)
            for start in range(0, shape[0], 256):  # stored chunks, not a fill value: the file holds the weights
                dataset[start:start + 256] = 0


def member_400mb():
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 6, 5], "name": "input"}},
        {"class_name": "GRU", "config": {"name": "gru", "units": 7}}]}}
    with zipfile.ZipFile(OUT / "member_400mb.keras", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        z.writestr("config.json", json.dumps(config))
        with z.open("model.weights.h5", "w", force_zip64=True) as member:
            block = bytes(1 << 20)
            for _ in range(400):
                member.write(block)


def big_config():
    source = ROOT / "Fixtures/tfkeras/grid_ra0_hardsig_fwd_last/model.h5"
    plain = OUT / "big_config.h5"
    shutil.copy(source, plain)
    with h5py.File(plain, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        gru = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "GRU")
        gru["config"]["kernel_initializer"] = {"class_name": "Constant", "config": {"value": [0.123456789] * 2_400_000}}
        del f.attrs["model_config"]
        f.attrs["model_config"] = json.dumps(config).encode()
    with open(plain, "rb") as src, gzip.open(OUT / "big_config.h5.gz", "wb", compresslevel=9) as dst:
        shutil.copyfileobj(src, dst)
    plain.unlink()


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    gru4096()
    member_400mb()
    big_config()

#!/usr/bin/env python3
"""Make Fixtures/windows/: Keras files whose HDF5 group names use backslashes, as Keras wrote them on
Windows, from two whole-model cases of Fixtures/models (same weights, inputs and outputs).

  k3_mha_windows/model.keras   keras-core / early Keras 3 joined a layer's path with os.path.join:
                               /layers\\multi_head_attention\\query_dense/vars/0 ... (one group name)
  tfk_mha_windows/model.h5     tf-keras layout with each layer's weight groups joined by backslashes:
                               /model_weights/gru/gru\\gru_cell/kernel:0 (weight_names keep '/')

Usage: python Fixtures/make_fixtures_windows.py [--force]
"""
import io
import shutil
import sys
import zipfile
from pathlib import Path

import h5py

HERE = Path(__file__).resolve().parent


def copy_attrs(src, dst):
    for key, value in src.attrs.items():
        dst.attrs[key] = value


def keras3_backslashed(source_bytes):
    """Every group holding a `vars` group moves to one root group named by its path with backslashes."""
    out = io.BytesIO()
    with h5py.File(io.BytesIO(source_bytes), "r") as src, h5py.File(out, "w") as dst:
        copy_attrs(src, dst)

        def visit(name, obj):
            if isinstance(obj, h5py.Group) and name.endswith("/vars") or name == "vars":
                owner = name[: -len("/vars")] if name != "vars" else ""
                target = dst.require_group(owner.replace("/", "\\")) if owner else dst
                src.copy(obj, target, name="vars")
        src.visititems(visit)
    return out.getvalue()


def tfkeras_backslashed(source, target):
    with h5py.File(source, "r") as src, h5py.File(target, "w") as dst:
        copy_attrs(src, dst)
        for key in src:
            if key != "model_weights":
                src.copy(src[key], dst, name=key)
        weights = dst.create_group("model_weights")
        copy_attrs(src["model_weights"], weights)
        for layer_name in src["model_weights"]:
            layer = src["model_weights"][layer_name]
            out = weights.create_group(layer_name)
            copy_attrs(layer, out)

            def visit(name, obj):
                if isinstance(obj, h5py.Dataset):
                    *groups, leaf = name.split("/")
                    group = out.require_group("\\".join(groups)) if groups else out
                    group.create_dataset(leaf, data=obj[()])
            layer.visititems(visit)


def main():
    force = "--force" in sys.argv
    root = HERE / "windows"
    cases = {"k3_mha_windows": "k3_mha", "tfk_mha_windows": "tfk_mha"}
    for name, source in cases.items():
        folder, src = root / name, HERE / "models" / source
        if folder.exists() and not force:
            sys.exit(f"refusing to overwrite {folder} (use --force)")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for npy in src.glob("*.npy"):
            shutil.copy(npy, folder / npy.name)
        if source.startswith("k3"):
            with zipfile.ZipFile(src / "model.keras") as zin, zipfile.ZipFile(folder / "model.keras", "w") as zout:
                for item in zin.infolist():
                    data = zin.read(item.filename)
                    if item.filename == "model.weights.h5":
                        data = keras3_backslashed(data)
                    zout.writestr(item, data)
        else:
            tfkeras_backslashed(src / "model.h5", folder / "model.h5")
        print(name, "from", source)


if __name__ == "__main__":
    main()

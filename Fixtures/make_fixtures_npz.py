#!/usr/bin/env python3
"""Generate .npz and input-dtype reference data for gru-run with real Keras (tf-keras 2.21 and Keras 3).

Writes Fixtures/npz/<case>/ for two models of two inputs and two outputs, and Fixtures/npz/manifest.json:

  tokens (B, T) int32 ids -> Embedding(12, 4, mask_zero=True) -+
                                                               +-> Concatenate "join" -> GRU(6) "encoder" -+-> Dense(2) "score"
  features (B, T, 3) floats -----------------------------------+                                          +-> Dense(3, softmax) "label"

  tfk_two_heads      tf-keras `tf_keras.layers.GRU`, float32, model.h5
  k3_two_heads_f64   Keras 3 `keras.layers.GRU`, float64 (set_floatx), model.keras

Each case folder holds:
  x.npz              np.savez(f, tokens=..., features=...): stored, named after the Input layers
  x_arr.npz          np.savez(f, tokens, features): arr_0, arr_1, in the model's input order
  x_compressed.npz   np.savez_compressed(f, features=..., tokens=...): deflated, the names in the other order
  x_tokens.npy, x_features.npy   the same two arrays (features in the case's dtype)
  y.npz              np.savez(f, score=..., label=...): model.predict([tokens, features]), named as model.output_names
  y_arr.npz          np.savez(f, score, label); y_score.npy, y_label.npy the same arrays
  dtypes/features_<D>.npy   features as dtype D, for D in int8 int16 int32 int64 uint8 uint16 uint32 uint64 bool
                            float16 (integer values in [-4, 4], [0, 8] unsigned, x > 0 for bool, N(0, 1) float16);
                            _be: big-endian (D of two bytes or more), _f: Fortran order (np.asfortranarray)
  dtypes/y_<D>.npz          model.predict([tokens, features_D]): Keras casts features_D to the Input's dtype
  dtypes/tokens_<D>.npy     the ids as integer dtype D (and _be); their outputs are y.npz's

The script checks, before it writes a case: predict on each dtype's array, on its big-endian and on its
Fortran-order copy gives the same numbers, equal to predict on the array cast to the model's float dtype with
numpy (what "Keras casts" means here), and predict on every tokens_<D> equals y.npz; the saved model, loaded
again, predicts y.npz exactly; x.npz read back with np.load holds exactly the arrays.

Usage:  python Fixtures/make_fixtures_npz.py [--force] [--root DIR]
Pins: requirements-keras3.txt (the same venv as make_fixtures_models.py). Each Keras runs in a child process
of its own environment (tf-keras: TF_USE_LEGACY_KERAS=1; Keras 3: KERAS_BACKEND=tensorflow). Deterministic:
the generators are seeded from the case name, and zip member times and the .keras archive's clock are fixed,
so a re-run reproduces every file byte for byte.
"""
import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_fixtures_models as models  # noqa: E402  (check_versions, reproducible_save)

B, T, F, VOCAB = 4, 5, 3, 12
CASES = {"tfk_two_heads": ("tfkeras", "float32"), "k3_two_heads_f64": ("keras3", "float64")}
INT_TYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
DTYPES = INT_TYPES + ["bool", "float16"]
ZIP_EPOCH = 1735689600  # 2025-01-01: the time of every member np.savez writes here


@contextlib.contextmanager
def fixed_zip_time():
    class Clock:
        @staticmethod
        def time():
            return float(ZIP_EPOCH)

        @staticmethod
        def localtime(secs=None):
            return time.gmtime(ZIP_EPOCH if secs is None else secs)
    old = zipfile.time
    zipfile.time = Clock
    try:
        yield
    finally:
        zipfile.time = old


def savez(path, *args, compressed=False, **kwargs):
    with fixed_zip_time():
        (np.savez_compressed if compressed else np.savez)(path, *args, **kwargs)


def ids(rng):
    x = rng.integers(1, VOCAB, (B, T)).astype("int32")
    x[0, 3:] = 0   # a padded tail
    x[1, :1] = 0   # a leading pad
    return x


def features_as(dtype, rng):
    if dtype == "bool":
        return rng.standard_normal((B, T, F)) > 0
    if dtype == "float16":
        return rng.standard_normal((B, T, F)).astype("float16")
    low, high = (0, 9) if dtype.startswith("u") else (-4, 5)
    return rng.integers(low, high, (B, T, F)).astype(dtype)


def build(keras, dtype):
    tokens = keras.Input((T,), name="tokens")
    features = keras.Input((T, F), name="features")
    embedded = keras.layers.Embedding(VOCAB, 4, mask_zero=True, name="embed")(tokens)
    joined = keras.layers.Concatenate(name="join")([embedded, features])
    h = keras.layers.GRU(6, name="encoder")(joined)
    score = keras.layers.Dense(2, name="score")(h)
    label = keras.layers.Dense(3, activation="softmax", name="label")(h)
    model = keras.Model([tokens, features], [score, label])
    rng = np.random.default_rng(7)
    model.set_weights([(rng.standard_normal(w.shape) * 0.5).astype(dtype) for w in model.get_weights()])
    return model


def part_main(part, name, staging):
    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    if part == "tfkeras":
        import tf_keras as keras
        set_floatx, suffix = keras.backend.set_floatx, "h5"
    else:
        import keras
        set_floatx, suffix = keras.config.set_floatx, "keras"
    dtype = CASES[name][1]
    set_floatx(dtype)
    seed = zlib.crc32(name.encode())
    rng = np.random.default_rng(seed)
    model = build(keras, dtype)
    assert list(model.output_names)[:2] == ["score", "label"], model.output_names

    def predict(tokens, features):
        return [np.asarray(y) for y in model.predict([tokens, features], batch_size=B, verbose=0)]

    out = staging / name
    (out / "dtypes").mkdir(parents=True)
    tokens = ids(rng)
    features = rng.standard_normal((B, T, F)).astype(dtype)
    ys = predict(tokens, features)
    assert all(y.dtype == np.dtype(dtype) and np.isfinite(y).all() for y in ys)
    with models.reproducible_save(part):
        model.save(out / f"model.{suffix}")
    loaded = keras.models.load_model(out / f"model.{suffix}")
    again = [np.asarray(y) for y in loaded.predict([tokens, features], batch_size=B, verbose=0)]
    assert all(np.array_equal(a, b) for a, b in zip(ys, again)), "the saved model predicts other numbers"

    savez(out / "x.npz", tokens=tokens, features=features)
    savez(out / "x_arr.npz", tokens, features)
    savez(out / "x_compressed.npz", compressed=True, features=features, tokens=tokens)
    np.save(out / "x_tokens.npy", tokens)
    np.save(out / "x_features.npy", features)
    back = np.load(out / "x.npz")
    assert back.files == ["tokens", "features"] and np.array_equal(back["features"], features)
    savez(out / "y.npz", score=ys[0], label=ys[1])
    savez(out / "y_arr.npz", ys[0], ys[1])
    np.save(out / "y_score.npy", ys[0])
    np.save(out / "y_label.npy", ys[1])

    files = {}
    for d in DTYPES:
        x = features_as(d, rng)
        variants = {"": x, "_f": np.asfortranarray(x)}
        if x.dtype.itemsize > 1:
            variants["_be"] = x.astype(x.dtype.newbyteorder(">"))
        y = predict(tokens, x)
        cast = predict(tokens, x.astype(dtype))
        assert all(np.array_equal(a, b) for a, b in zip(y, cast)), f"{d}: predict does not cast as numpy does"
        for suffix_, v in variants.items():
            assert np.array_equal(v, x)
            got = predict(tokens, v)
            assert all(np.array_equal(a, b) for a, b in zip(y, got)), f"{d}{suffix_}: another layout, other numbers"
            np.save(out / "dtypes" / f"features_{d}{suffix_}.npy", v)
        if d == "bool":
            assert np.array_equal(np.load(out / "dtypes" / "features_bool_f.npy"), x)
        savez(out / "dtypes" / f"y_{d}.npz", score=y[0], label=y[1])
        files[d] = {"features": [f"dtypes/features_{d}{s}.npy" for s in variants], "expect": f"dtypes/y_{d}.npz"}
    token_files = []
    for d in INT_TYPES:
        t = tokens.astype(d)
        for suffix_, v in {"": t, "_be": t.astype(t.dtype.newbyteorder(">"))}.items():
            if suffix_ and t.dtype.itemsize == 1:
                continue
            got = predict(v, features)
            assert all(np.array_equal(a, b) for a, b in zip(ys, got)), f"tokens as {d}{suffix_}: other numbers"
            np.save(out / "dtypes" / f"tokens_{d}{suffix_}.npy", v)
            token_files.append(f"dtypes/tokens_{d}{suffix_}.npy")
    entry = {"name": name, "keras": part, "keras_version": keras.__version__, "dtype": dtype, "model": f"model.{suffix}",
             "inputs": ["tokens", "features"], "outputs": ["score", "label"],
             "shapes": {"tokens": [B, T], "features": [B, T, F], "score": [B, 2], "label": [B, 3]},
             "dtypes": files, "tokens": token_files}
    generator = {"tensorflow": tf.__version__, ("tf_keras" if part == "tfkeras" else "keras"): keras.__version__,
                 "numpy": np.__version__}
    (staging / "entry.json").write_text(json.dumps({"generator": generator, "case": entry}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="replace existing case folders")
    ap.add_argument("--root", type=Path, default=HERE.parent, help="repository root")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--staging", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:  # child process
        part_main(CASES[args.case][0], args.case, args.staging)
        return
    models.check_versions()
    out = args.root / "Fixtures" / "npz"
    if out.exists() and not args.force:
        sys.exit(f"refusing to overwrite {out} (use --force)")
    entries, generators = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (part, _) in CASES.items():
            staging = Path(tmp) / part
            staging.mkdir()
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0")
            if part == "keras3":
                env.pop("TF_USE_LEGACY_KERAS", None)
                env["KERAS_BACKEND"] = "tensorflow"
            else:
                env["TF_USE_LEGACY_KERAS"] = "1"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--case", name, "--staging", str(staging)]
            if subprocess.run(cmd, env=env).returncode != 0:
                sys.exit(f"{name} failed; nothing was written")
            result = json.loads((staging / "entry.json").read_text())
            generators[part] = result["generator"]
            entries.append((result["case"], staging / name))
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        for entry, folder in entries:
            shutil.move(str(folder), str(out / entry["name"]))
    manifest = {"generator": generators, "cases": [e for e, _ in entries]}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"npz: {len(entries)} cases")


if __name__ == "__main__":
    main()

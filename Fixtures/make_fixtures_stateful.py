#!/usr/bin/env python3
"""Generate stateful LSTM reference data for gru-run with real Keras (tf-keras 2.21 and Keras 3).

Writes Fixtures/models_stateful/<case>/ and Fixtures/models_stateful/manifest.json. Each case is a
Sequential model with a fixed batch of B=3 (tf-keras `batch_shape` -> `batch_input_shape` in the config,
Keras 3 `batch_shape`) holding LSTM(5, stateful=True, return_sequences=True) -> Dense(2), saved before any
call (states zero; neither Keras stores them in the file). One sequence per sample is cut along time into
three chunks `x0.npy`, `x1.npy`, `x2.npy`; `y0.npy`, `y1.npy`, `y2.npy` are `model.predict` of the chunks
called in that order, with the states Keras carries between the calls and no reset.

Before it writes a case the script checks that the chunk outputs equal a stateless twin (same weights) run
on the whole sequence, and a float64 NumPy LSTM; that the carried state matters (chunk 1 from zero states
gives other numbers); that resetting the LSTM's states and predicting chunk 0 gives y0 again; and that
Keras reloads the saved file and predicts the three chunks to the same numbers.

As in make_fixtures_models.py the two Keras versions run in child processes (tfkeras: TF_USE_LEGACY_KERAS=1,
`import tf_keras`; keras3: KERAS_BACKEND=tensorflow, `import keras`), the versions pinned in
requirements-keras3.txt are required, generators are seeded from the case name and `.keras` archives are
saved with the clock and shared object ids fixed, so a re-run reproduces every file byte for byte.

Usage:  python Fixtures/make_fixtures_stateful.py [--force] [--root DIR] [--only PART|CASE|PATTERN]...
Existing case folders are never overwritten unless --force is given.
"""
import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_fixtures_models import (B, D, PARTS, WSCALE, check_versions, np_lstm,  # noqa: E402
                                  reproducible_save, rng_for)

UNITS = 5
# (name, part, dtype, time steps in the declared batch shape (None: any), chunk lengths, what)
CASES = [
    ("tfk_stateful_lstm", "tfkeras", "float32", None, (4, 2, 5),
     "batch_shape (3, None, 4); chunks of 4, 2 and 5 steps"),
    ("tfk_stateful_lstm_f64", "tfkeras", "float64", None, (4, 4, 4),
     "float64 (set_floatx), batch_shape (3, None, 4); chunks of 4 steps"),
    ("k3_stateful_lstm", "keras3", "float32", 4, (4, 4, 4),
     "batch_shape (3, 4, 4): the time steps declared; chunks of 4 steps"),
]


def part_main(part, names, staging):
    import h5py
    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    if part == "tfkeras":
        assert os.environ.get("TF_USE_LEGACY_KERAS") == "1"
        import tf_keras as keras
        set_floatx, suffix = keras.backend.set_floatx, "h5"
    else:
        assert os.environ.get("TF_USE_LEGACY_KERAS") is None
        import keras
        assert keras.backend.backend() == "tensorflow"
        set_floatx, suffix = keras.config.set_floatx, "keras"
    L = keras.layers

    def build(dtype, steps, stateful=True):
        shape = (B, steps, D) if stateful else (None, steps, D)
        return keras.Sequential([keras.Input(batch_shape=shape, dtype=dtype, name="x"),
                                 L.LSTM(UNITS, stateful=stateful, return_sequences=True, name="lstm"),
                                 L.Dense(2, name="head")])

    def predict_chunks(model, chunks):
        return [np.asarray(model.predict(c, batch_size=B, verbose=0)) for c in chunks]

    entries = []
    for name, _, dtype, steps, lengths, what in [c for c in CASES if c[0] in names]:
        keras.backend.clear_session()
        set_floatx(dtype)
        try:
            rng = rng_for(name)
            model = build(dtype, steps)
            model.set_weights([(rng.standard_normal(w.shape) * WSCALE).astype(dtype) for w in model.get_weights()])
            x = rng.standard_normal((B, sum(lengths), D)).astype(dtype)
            cuts = np.cumsum(lengths)[:-1]
            chunks = np.split(x, cuts, axis=1)
            folder = staging / name
            folder.mkdir(parents=True)
            model_file = folder / f"model.{suffix}"
            with reproducible_save(part):
                model.save(model_file)
            ys = predict_chunks(model, chunks)
            tol = 1e-12 if dtype == "float64" else 1e-6
            for y in ys:
                assert y.dtype == np.dtype(dtype) and np.all(np.isfinite(y)), name
                assert np.max(np.abs(y)) > 1e-3, (name, "all (nearly) zero")
            # a stateless twin over the whole sequence gives the chunks' outputs one after the other
            twin = build(dtype, None, stateful=False)
            twin.set_weights(model.get_weights())
            whole = np.asarray(twin.predict(x, batch_size=B, verbose=0))
            assert np.allclose(np.concatenate(ys, axis=1), whole, rtol=0, atol=tol), (name, "twin")
            kernel, recurrent, bias, head_kernel, head_bias = model.get_weights()
            want = (np_lstm(x, kernel, recurrent, bias, return_sequences=True) @ head_kernel.astype("float64")
                    + head_bias)
            err = float(np.max(np.abs(np.concatenate(ys, axis=1) - want)))
            assert err < (1e-11 if dtype == "float64" else 2e-5), (name, "numpy", err)
            # the carried state matters
            fresh = np.asarray(twin.predict(chunks[1], batch_size=B, verbose=0))
            assert np.max(np.abs(fresh - ys[1])) > 1e-3, (name, "the state carries nothing")
            # resetting the LSTM's states gives zero states again (Keras 3 models have no reset_states)
            lstm = model.get_layer("lstm")
            (lstm.reset_states if hasattr(lstm, "reset_states") else lstm.reset_state)()
            assert np.array_equal(predict_chunks(model, chunks[:1])[0], ys[0]), (name, "reset")
            # Keras reloads the file and predicts the same chunks
            keras.backend.clear_session()
            reloaded = keras.models.load_model(model_file, compile=False)
            assert all(np.array_equal(a, b) for a, b in zip(predict_chunks(reloaded, chunks), ys)), (name, "reload")
            layers = [layer.__class__.__name__ for layer in model.layers]
            batch_shape = [B, steps, D]
        finally:
            set_floatx("float32")
        spec = lambda file, a: {"file": file, "shape": list(a.shape), "dtype": str(a.dtype)}  # noqa: E731
        for i, (c, y) in enumerate(zip(chunks, ys)):
            np.save(folder / f"x{i}.npy", np.ascontiguousarray(c))
            np.save(folder / f"y{i}.npy", np.ascontiguousarray(y))
        entries.append({
            "name": name,
            "keras": "tf-keras" if part == "tfkeras" else "keras3",
            "keras_version": keras.__version__,
            "dtype": dtype,
            "model": model_file.name,
            "batch_shape": batch_shape,
            "chunks": [{"input": spec(f"x{i}.npy", c), "output": spec(f"y{i}.npy", y)}
                       for i, (c, y) in enumerate(zip(chunks, ys))],
            "layers": layers,
            "exercises": f"LSTM({UNITS}, stateful=True, return_sequences=True) -> Dense(2), {what}; the chunks "
                         "are predicted in order, the states carried between the calls (no reset)",
        })
        print(f"{name}: {', '.join(str(tuple(y.shape)) for y in ys)}", flush=True)
    generator = {"tensorflow": tf.__version__, ("tf_keras" if part == "tfkeras" else "keras"):
                 keras.__version__, "numpy": np.__version__, "h5py": h5py.__version__}
    (staging / "entries.json").write_text(json.dumps({"generator": generator, "cases": entries}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="replace existing case folders")
    ap.add_argument("--root", type=Path, default=HERE.parent, help="repository root")
    ap.add_argument("--only", action="append", metavar="PART|CASE|PATTERN",
                    help="make only these parts (tfkeras, keras3) or cases (repeatable)")
    ap.add_argument("--part", choices=list(PARTS), help=argparse.SUPPRESS)
    ap.add_argument("--staging", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--names", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.part:  # child process
        part_main(args.part, set(args.names.split(",")), args.staging)
        return
    check_versions()
    all_names = [c[0] for c in CASES]
    names = all_names
    if args.only:
        names = [c[0] for c in CASES if any(c[1] == p or fnmatch.fnmatch(c[0], p) for p in args.only)]
        if not names:
            sys.exit(f"--only {' '.join(args.only)}: no such part or case")
    out = args.root / "Fixtures" / "models_stateful"
    existing = [n for n in names if (out / n).exists()]
    if existing and not args.force:
        sys.exit("refusing to overwrite (use --force): " + ", ".join(existing))
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    old = {e["name"]: e for e in manifest.get("cases", [])}
    generators = manifest.get("generator", {})
    made = {}
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        for part in PARTS:
            part_names = [c[0] for c in CASES if c[1] == part and c[0] in names]
            if not part_names:
                continue
            staging = Path(tmp) / part
            staging.mkdir()
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0")
            if part == "keras3":
                env.pop("TF_USE_LEGACY_KERAS", None)
                env["KERAS_BACKEND"] = "tensorflow"
            else:
                env["TF_USE_LEGACY_KERAS"] = "1"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--part", part,
                   "--staging", str(staging), "--names", ",".join(part_names)]
            if subprocess.run(cmd, env=env).returncode != 0:
                sys.exit(f"the {part} part failed; nothing was written")
            result = json.loads((staging / "entries.json").read_text())
            generators[part] = result["generator"]
            for entry in result["cases"]:
                made[entry["name"]] = (entry, staging / entry["name"])
        for name, (_, folder) in made.items():
            if (out / name).exists():
                shutil.rmtree(out / name)
            shutil.move(str(folder), str(out / name))
    entries = [made[n][0] if n in made else old[n] for n in all_names
               if n in made or (n in old and (out / n).exists())]
    manifest_path.write_text(json.dumps({"generator": generators, "cases": entries}, indent=1) + "\n")
    print(f"models_stateful: {len(made)} cases made, {len(entries)} in manifest.json")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Reference data for `gru-run --through NAME`, made with real Keras (tf-keras 2.21 and Keras 3.15.1).

Writes Fixtures/through/<case>/: the model (`model.h5` from tf-keras, `model.keras` from Keras 3), its inputs
(`x.npy`, or `x0.npy`, `x1.npy`) and, for each layer NAME in the case, `y_NAME.npy`: the output of
`keras.Model(m.inputs, m.get_layer(NAME).output).predict(x)`. Fixtures/through/manifest.json lists them.

  later_unsupported: x -> Dense(tanh) 'proj' -> GRU(return_sequences) 'gru' -> LSTM 'lstm' -> Lambda 'double'
                     -> a custom layer class 'scale': gru-run runs none of the last three, and --through stops
                     before them (the whole model is refused).
  shared:            a Dense 'shared' called on two inputs -> Add -> GRU 'gru': get_layer('shared').output is
                     its first call's; get_layer('x0').output is the first input itself.

Usage: python Fixtures/make_fixtures_through.py [--force]   (pins: requirements-keras3.txt)
The two Keras versions run in child processes of their own (TF_USE_LEGACY_KERAS=1 for tf-keras).
"""
import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "through"
PARTS = {"tfkeras": ("tfk", "h5"), "keras3": ("k3", "keras")}


def build(keras, case):
    L = keras.layers
    if case == "later_unsupported":
        register = (keras.saving.register_keras_serializable if hasattr(keras, "saving")
                    and hasattr(keras.saving, "register_keras_serializable")
                    else keras.utils.register_keras_serializable)

        @register(package="fixtures")
        class Scale(L.Layer):
            def build(self, shape):
                self.w = self.add_weight(name="w", shape=(shape[-1],), initializer="ones")

            def call(self, x):
                return x * self.w

        x = keras.Input((6, 4), name="x")
        h = L.Dense(5, activation="tanh", name="proj")(x)
        g = L.GRU(6, return_sequences=True, name="gru")(h)
        lstm = L.LSTM(4, return_sequences=True, name="lstm")(g)
        d = L.Lambda(lambda t: t * 2.0, name="double")(lstm)
        return keras.Model(x, Scale(name="scale")(d)), [(6, 4)], ["proj", "gru"]
    x0, x1 = keras.Input((6, 4), name="x0"), keras.Input((6, 4), name="x1")
    shared = L.Dense(5, name="shared")
    added = L.Add(name="add")([shared(x0), shared(x1)])
    return keras.Model([x0, x1], L.GRU(3, name="gru")(added)), [(6, 4), (6, 4)], ["shared", "x0", "add", "gru"]


def part_main(part, staging):
    if part == "tfkeras":
        import tf_keras as keras
    else:
        import keras
    prefix, suffix = PARTS[part]
    entries = []
    for case in ["later_unsupported", "shared"]:
        name = f"{prefix}_{case}"
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        keras.backend.clear_session()
        model, shapes, throughs = build(keras, case)
        for layer in model.layers:
            layer.set_weights([(rng.standard_normal(w.shape) * 0.5).astype("float32") for w in layer.weights])
        xs = [rng.standard_normal((3,) + s).astype("float32") for s in shapes]
        feed = xs[0] if len(xs) == 1 else xs
        folder = staging / name
        folder.mkdir(parents=True)
        model.save(folder / f"model.{suffix}")
        x_names = ["x.npy"] if len(xs) == 1 else [f"x{i}.npy" for i in range(len(xs))]
        for file, x in zip(x_names, xs):
            np.save(folder / file, x)
        outputs = []
        for through in throughs:
            sub = keras.Model(model.inputs, model.get_layer(through).output)
            y = np.asarray(sub.predict(feed, batch_size=3, verbose=0))
            np.save(folder / f"y_{through}.npy", y)
            outputs.append({"layer": through, "file": f"y_{through}.npy", "shape": list(y.shape)})
        entries.append({"name": name, "keras": part, "keras_version": keras.__version__,
                        "model": f"model.{suffix}", "inputs": x_names, "throughs": outputs})
        print(name, [o["layer"] for o in outputs], flush=True)
    (staging / "entries.json").write_text(json.dumps(entries))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--part":
        part_main(sys.argv[2], Path(sys.argv[3]))
        return
    if OUT.exists() and "--force" not in sys.argv:
        sys.exit(f"refusing to overwrite {OUT} (use --force)")
    staging = HERE / ".through-staging"
    shutil.rmtree(staging, ignore_errors=True)
    entries = []
    try:
        for part in PARTS:
            (staging / part).mkdir(parents=True)
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0")
            if part == "keras3":
                env.pop("TF_USE_LEGACY_KERAS", None)
                env["KERAS_BACKEND"] = "tensorflow"
            else:
                env["TF_USE_LEGACY_KERAS"] = "1"
            cmd = [sys.executable, __file__, "--part", part, str(staging / part)]
            if subprocess.run(cmd, env=env).returncode != 0:
                sys.exit(f"the {part} part failed; nothing was written")
            entries += json.loads((staging / part / "entries.json").read_text())
        shutil.rmtree(OUT, ignore_errors=True)
        OUT.mkdir()
        for entry in entries:
            part = "tfkeras" if entry["name"].startswith("tfk_") else "keras3"
            shutil.move(str(staging / part / entry["name"]), str(OUT / entry["name"]))
        (OUT / "manifest.json").write_text(json.dumps({"cases": entries}, indent=1) + "\n")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


if __name__ == "__main__":
    main()

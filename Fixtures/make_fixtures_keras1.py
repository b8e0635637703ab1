#!/usr/bin/env python3
"""Keras 1.2.2 model files for gru-run, made from real tf-keras 2.21 models (a Keras 1 environment cannot
be installed beside TensorFlow 2).

Each case builds a small tf-keras model around a GRU, an LSTM or a SimpleRNN, fills its weights from a
generator seeded by the case name, computes `model.predict(x)` with tf-keras, and writes
`Fixtures/keras1/<case>/model.h5` as Keras 1.2.2's `model.save` lays it out: root attribute `keras_version`
"1.2.2" (no `backend`, which Keras 1 did not write), `model_config` in Keras 1.2.2's classes and keys (see
`keras1_layer`), and `/model_weights` with Keras 1's weight names and shapes (`conv_W:0` of shape
(filter_length, 1, input_dim, nb_filter), a GRU's nine `W_z, U_z, b_z, W_r, ...`, an LSTM's twelve
`W_i, U_i, b_i, W_c, U_c, b_c, W_f, U_f, b_f, W_o, U_o, b_o` (gates i, c, f, o: the order of
`trainable_weights` in Keras 1.2.2's LSTM.build, which tf-keras's `preprocess_weights_for_loading` undoes as
"old: i, c, f, o"), a SimpleRNN's `W, U, b`, BatchNormalization's `running_std` holding the variance).
Beside it: `x.npy`, `y.npy` (tf-keras's predict) and, where a reader that ignored the Keras 1 keys would
still run, `y_keras2_defaults.npy`: the same weights read with Keras 2's defaults in place of the Keras 1
keys (pool_size 2, strides 1, BatchNormalization mode 0, ...).

Keras 2 has no BatchNormalization mode 1 or 2; those cases run a small tf-keras layer computing Keras
1.2.2's test-time formula (`keras/layers/normalization.py`), and the script checks its output against the
same formula in numpy (over predict's batches of 32 for mode 2) before writing anything.

Every written file is read back with tf-keras's own Keras 1 loader (`model.load_weights`, which converts
Keras 1 layouts: it reads `keras_version` from the `model_weights` group, where Keras 1.2.2 wrote none, and
takes a missing one for "1") into a fresh model, whose predict must give y.npy. Masked cases must also give
other numbers when the Masking layer matches nothing.

Usage:  TF_USE_LEGACY_KERAS=1 python Fixtures/make_fixtures_keras1.py [--force] [--root DIR]
        [--only PATTERN]...
Refuses to overwrite Fixtures/keras1/ unless --force; with --only (a case name or shell pattern, repeatable)
it makes only those cases, refuses to overwrite their folders unless --force, and keeps the other entries of
manifest.json. Deterministic: a re-run writes the same numbers.
"""
import argparse
import fnmatch
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as k  # noqa: E402
from tf_keras.src.layers.rnn.gru_v1 import GRU  # noqa: E402  Keras 1's GRU: reset_after False
from tf_keras.src.layers.rnn.lstm_v1 import LSTM  # noqa: E402  hard_sigmoid by default, as Keras 1's

from keras1_layers import Keras1BatchNorm, keras1_bn_numpy, keras1_model_config, keras1_weights  # noqa: E402

HERE = Path(__file__).resolve().parent
L = k.layers


def gru(units, **kw):
    return GRU(units, recurrent_activation="hard_sigmoid", reset_after=False, name=kw.pop("name", "gru"), **kw)


def seq(shape, layers, dtype="float32"):
    return k.Sequential([k.Input(shape=shape, dtype=dtype, name="x")] + layers)


# Each case: (build() -> model, input kind, input shape without batch, batch, defaults() -> model or None,
# what). `defaults` rebuilds the model as a reader that ignored the Keras 1 keys would read it.
def conv_maxpool():
    return seq((12, 4), [L.Conv1D(5, 3, padding="same", activation="relu", name="conv"),
                         L.MaxPooling1D(3, strides=2, padding="valid", name="pool"),
                         gru(6), L.Dense(3, name="dense")])


def conv_maxpool_defaults():
    return seq((12, 4), [L.Conv1D(5, 3, padding="valid", activation="relu", name="conv"),
                         L.MaxPooling1D(name="pool"), gru(6), L.Dense(3, name="dense")])


def conv_s2_avgpool_same():
    return seq((12, 4), [L.Conv1D(4, 2, strides=2, use_bias=False, name="conv"),
                         L.AveragePooling1D(3, strides=1, padding="same", name="pool"),
                         gru(5, return_sequences=True), L.TimeDistributed(L.Dense(3, name="dense"), name="td")])


def atrous_maxpool_same():
    return seq((12, 4), [L.Conv1D(4, 3, dilation_rate=2, padding="same", activation="tanh", name="conv"),
                         L.MaxPooling1D(4, strides=1, padding="same", name="pool"),
                         gru(6), L.Dense(2, name="dense")])


def avgpool_stride_none():
    pool = L.AveragePooling1D(3, name="pool")
    pool.keras1_stride_none = True  # written as stride: null, which Keras 1 reads as pool_length
    return seq((11, 4), [pool, gru(6, return_sequences=True), L.GlobalAveragePooling1D(name="gap")])


def avgpool_stride_none_defaults():
    return seq((11, 4), [L.AveragePooling1D(name="pool"), gru(6, return_sequences=True),
                         L.GlobalAveragePooling1D(name="gap")])


def conv2d_maxpool2d():
    return seq((8, 4, 1), [L.Conv2D(3, (3, 2), padding="same", strides=(1, 1), activation="relu", name="conv"),
                           L.MaxPooling2D((2, 2), strides=(2, 1), padding="valid", name="pool"),
                           L.Reshape((4, 9), name="reshape"), gru(5), L.Dense(2, name="dense")])


def bn(mode, batch_stat_axis=-1):
    def build():
        head = [gru(6, return_sequences=mode != 1), L.Dense(5, name="dense")]
        norm = L.BatchNormalization(epsilon=1e-3, name="bn") if mode == 0 else Keras1BatchNorm(mode, batch_stat_axis, 1e-3, name="bn")
        return seq((7, 4), head + [norm, L.Dense(3, use_bias=False, name="out")])
    return build


def bn_defaults(mode, axis=-1):
    def build():
        head = [gru(6, return_sequences=mode != 1), L.Dense(5, name="dense")]
        return seq((7, 4), head + [L.BatchNormalization(axis=axis, epsilon=1e-3, name="bn"), L.Dense(3, use_bias=False, name="out")])
    return build


def embed_mask():
    return seq((9,), [L.Embedding(12, 5, mask_zero=True, name="embed"), gru(6),
                      L.Dense(4, activation="softmax", name="dense")], dtype="int32")


def core_layers():
    return seq((6, 4), [gru(6, return_sequences=True), L.Dropout(0.3, name="drop"), L.GaussianNoise(0.5, name="noise"),
                        L.Permute((2, 1), name="permute"), L.Flatten(name="flat"), L.Dense(5, use_bias=False, name="dense"),
                        L.Activation("tanh", name="act"), L.RepeatVector(3, name="repeat"), L.Reshape((5, 3), name="reshape"),
                        L.TimeDistributed(L.Dense(2, name="inner"), name="td")])


def lstm(units, **kw):
    return LSTM(units, recurrent_activation="hard_sigmoid", **kw)


def lstm_dense():
    return seq((6, 4), [lstm(5, return_sequences=True, name="lstm_1"), lstm(3, name="lstm_2"),
                        L.Dense(2, name="dense")])


def simple_rnn():
    return seq((6, 4), [L.SimpleRNN(5, return_sequences=True, name="simplernn_1"),
                        L.SimpleRNN(3, go_backwards=True, name="simplernn_2"), L.Dense(2, name="dense")])


def lstm_masked(mask_value=0.0):
    return seq((6, 4), [L.Masking(mask_value, name="masking"), lstm(5, return_sequences=True, name="lstm_1"),
                        lstm(3, name="lstm_2"), L.Dense(2, name="dense")])


def merge(mode):
    def build():
        x = k.Input(shape=(6, 4), name="x")
        a = gru(6, name="gru")(x)
        b = L.Dense(6, activation="tanh", name="side")(L.Flatten(name="flat")(x))
        kind = {"sum": L.Add, "mul": L.Multiply, "ave": L.Average, "max": L.Maximum}
        merged = L.Concatenate(axis=-1, name="merge")([a, b]) if mode == "concat" else kind[mode](name="merge")([a, b])
        return k.Model(x, L.Dense(3, name="dense")(merged))
    return build


CASES = {
    "conv_maxpool": (conv_maxpool, "float", (12, 4), 3, conv_maxpool_defaults,
                     "Convolution1D(5, 3, border_mode same, relu) -> MaxPooling1D(pool_length 3, stride 2) -> GRU(6) -> Dense(3)"),
    "conv_s2_avgpool_same": (conv_s2_avgpool_same, "float", (12, 4), 3, None,
                             "Convolution1D(4, 2, subsample_length 2, bias False) -> AveragePooling1D(3, stride 1, same) -> GRU(5, seq) -> TimeDistributed(Dense(3))"),
    "atrous_maxpool_same": (atrous_maxpool_same, "float", (12, 4), 3, None,
                            "AtrousConvolution1D(4, 3, atrous_rate 2, same, tanh) -> MaxPooling1D(4, stride 1, same) -> GRU(6) -> Dense(2)"),
    "avgpool_stride_none": (avgpool_stride_none, "float", (11, 4), 3, avgpool_stride_none_defaults,
                            "AveragePooling1D(pool_length 3, stride None) -> GRU(6, seq) -> GlobalAveragePooling1D"),
    "conv2d_maxpool2d": (conv2d_maxpool2d, "float", (8, 4, 1), 3, None,
                         "Convolution2D(3, 3, 2, same, dim_ordering tf) -> MaxPooling2D((2, 2), strides (2, 1)) -> Reshape -> GRU(5) -> Dense(2)"),
    "bn_mode0": (bn(0), "float", (7, 4), 3, None, "GRU(6, seq) -> Dense(5) -> BatchNormalization(mode 0) -> Dense(3)"),
    "bn_mode1": (bn(1), "float", (7, 4), 3, bn_defaults(1), "GRU(6) -> Dense(5) -> BatchNormalization(mode 1) -> Dense(3)"),
    "bn_mode2": (bn(2), "float", (7, 4), 40, bn_defaults(2),
                 "GRU(6, seq) -> Dense(5) -> BatchNormalization(mode 2) -> Dense(3), 40 samples: predict's batches 0-31 and 32-39"),
    "bn_mode2_axis1": (bn(2, 1), "float", (7, 4), 5, bn_defaults(2, 1),
                       "GRU(6, seq) -> Dense(5) -> BatchNormalization(mode 2, axis 1: per timestep) -> Dense(3)"),
    "embed_mask": (embed_mask, "ids", (9,), 3, None, "Embedding(12, 5, mask_zero, dropout 0.2) -> GRU(6) -> Dense(4, softmax)"),
    "core_layers": (core_layers, "float", (6, 4), 3, None,
                    "GRU(6, seq) -> Dropout(p) -> GaussianNoise(sigma) -> Permute -> Flatten -> Dense(5, bias False) -> Activation -> RepeatVector -> Reshape -> TimeDistributed(Dense)"),
    "merge_concat": (merge("concat"), "float", (6, 4), 3, None, "functional: merge([GRU(6), Dense(6)], mode concat) -> Dense(3)"),
    "merge_sum": (merge("sum"), "float", (6, 4), 3, None, "functional: merge(mode sum)"),
    "merge_mul": (merge("mul"), "float", (6, 4), 3, None, "functional: merge(mode mul)"),
    "merge_ave": (merge("ave"), "float", (6, 4), 3, None, "functional: merge(mode ave)"),
    "merge_max": (merge("max"), "float", (6, 4), 3, None, "functional: merge(mode max)"),
    "lstm_dense": (lstm_dense, "float", (6, 4), 3, None,
                   "LSTM(5, return_sequences, inner_activation hard_sigmoid) -> LSTM(3) -> Dense(2): twelve arrays "
                   "per LSTM, W_i U_i b_i W_c U_c b_c W_f U_f b_f W_o U_o b_o"),
    "simple_rnn": (simple_rnn, "float", (6, 4), 3, None,
                   "SimpleRNN(5, return_sequences) -> SimpleRNN(3, go_backwards) -> Dense(2): W, U, b per SimpleRNN"),
    "lstm_masked": (lstm_masked, "masked", (6, 4), 3, None,
                    "Masking(0.0) -> LSTM(5, return_sequences) -> LSTM(3) -> Dense(2); steps of 0.0 in a padded "
                    "tail (sample 0), a hole (sample 1) and a leading step (sample 2)"),
}


def _layer(config, name):
    layers = config["config"] if isinstance(config["config"], list) else config["config"]["layers"]
    return next(entry["config"] for entry in layers if entry["config"]["name"] == name)


def _set(name, **values):
    return lambda config: _layer(config, name).update(values)


# Keras 1 values gru-run cannot reproduce: (case copied, edit of its model_config, words the refusal names).
REFUSALS = {
    "refuse_dim_ordering_th": ("conv2d_maxpool2d", _set("conv", dim_ordering="th"), "dim_ordering 'th'"),
    "refuse_border_mode_full": ("conv_maxpool", _set("conv", border_mode="full"), 'border_mode "full"'),
    "refuse_merge_cos": ("merge_sum", _set("merge", mode="cos"), "mode 'cos'"),
    "refuse_merge_dot": ("merge_sum", _set("merge", mode="dot", dot_axes=[1, 1]), "mode 'dot'"),
    "refuse_merge_lambda": ("merge_sum", _set("merge", mode="lambda x: x[0]", mode_type="lambda"), "Python lambda"),
    "refuse_merge_branches": ("merge_sum", _set("merge", layers=[{"class_name": "Sequential", "config": []}]), "merges whole models"),
    "refuse_bn_mode3": ("bn_mode1", _set("bn", mode=3), "mode 3"),
    "refuse_pool_both_keys": ("conv_maxpool", _set("pool", pool_size=2), "states both pool_length"),
    "refuse_atrous_strides": ("atrous_maxpool_same", _set("conv", subsample_length=2), "without strides"),
}


def make_refusal(name, spec, root):
    source, edit, words = spec
    folder = root / name
    shutil.copytree(root / source, folder)
    for extra in ("y.npy", "y_keras2_defaults.npy"):
        (folder / extra).unlink(missing_ok=True)
    with h5py.File(folder / "model.h5", "r+") as f:
        config = json.loads(f.attrs["model_config"])
        edit(config)
        f.attrs["model_config"] = np.bytes_(json.dumps(config))
    return {"name": name, "copy_of": source, "refusal_names": words}


def seeded(name):
    return np.random.default_rng(int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little"))


def fill(model, rng):
    for layer in model.layers:
        inner = layer.layer if isinstance(layer, L.TimeDistributed) else layer
        values = [rng.standard_normal(w.shape) * 0.5 for w in inner.get_weights()]
        if isinstance(inner, (L.BatchNormalization, Keras1BatchNorm)):
            gamma, beta, mean, var = [rng.standard_normal(w.shape) for w in inner.get_weights()]
            values = [1 + 0.3 * gamma, 0.3 * beta, 0.5 * mean, 0.5 + np.abs(var)]
        inner.set_weights([v.astype("float32") for v in values])


def make_input(kind, shape, batch, rng):
    if kind == "ids":
        ids = rng.integers(1, 12, size=(batch,) + shape).astype("int32")
        ids[0, :3] = 0
        ids[1, -2:] = 0
        return ids
    x = rng.standard_normal((batch,) + shape).astype("float32")
    if kind == "masked":  # whole steps of 0.0: a padded tail, a hole, a leading step
        x[0, -2:] = 0
        x[1, 2:4] = 0
        x[2, :1] = 0
    return x


def write_keras1(model, path):
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = np.bytes_("1.2.2")
        f.attrs["model_config"] = np.bytes_(json.dumps(keras1_model_config(model)))
        group = f.create_group("model_weights")
        # Keras 1 lists every layer of a functional model, InputLayers included (Sequential has none).
        group.attrs["layer_names"] = np.array([layer.name.encode() for layer in model.layers])
        for layer in model.layers:
            g = group.create_group(layer.name)
            weights = keras1_weights(layer)
            g.attrs["weight_names"] = np.array([n.encode() for n, _ in weights]) if weights else np.zeros(0)
            for name, value in weights:
                g.create_dataset(name, data=value)


def check_bn_formula(model, x):
    """The Keras1BatchNorm layer's output equals Keras 1.2.2's formula computed in numpy."""
    for layer in model.layers:
        if isinstance(layer, Keras1BatchNorm):
            before = k.Model(model.inputs, layer.input).predict(x, verbose=0)
            got = k.Model(model.inputs, layer.output).predict(x, verbose=0)
            want = keras1_bn_numpy(before, layer.mode, layer.axis, *[w.astype("float64") for w in layer.get_weights()], layer.epsilon)
            assert np.max(np.abs(got - want)) < 2e-6, f"{layer.name}: Keras1BatchNorm differs from numpy by {np.max(np.abs(got - want))}"


def make_case(name, spec, root):
    build, kind, shape, batch, defaults, what = spec
    rng = seeded(name)
    k.backend.clear_session()
    tf.keras.utils.set_random_seed(0)
    model = build()
    fill(model, rng)
    x = make_input(kind, shape, batch, rng)
    y = model.predict(x, verbose=0)
    check_bn_formula(model, x)
    folder = root / name
    folder.mkdir(parents=True)
    write_keras1(model, folder / "model.h5")
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    # tf-keras's own Keras 1 loader reads the written weights into a fresh copy of the model.
    again = build()
    again.load_weights(folder / "model.h5")
    assert np.array_equal(again.predict(x, verbose=0), y), f"{name}: tf-keras reads the Keras 1 file differently"
    assert np.all(np.isfinite(y)) and np.max(np.abs(y)) > 1e-3, f"{name}: output not finite or all zero"
    if kind == "masked":  # the same weights with a Masking that matches nothing give other numbers
        unmasked = build(mask_value=1e9)
        unmasked.set_weights(model.get_weights())
        moved = float(np.max(np.abs(unmasked.predict(x, verbose=0) - y)))
        assert moved > 1e-3, f"{name}: the mask changes nothing ({moved})"
    entry = {"name": name, "what": what, "x": list(x.shape), "y": list(y.shape), "x_dtype": str(x.dtype)}
    if defaults:
        other = defaults()
        other.set_weights(model.get_weights())
        y2 = other.predict(x, verbose=0)
        np.save(folder / "y_keras2_defaults.npy", y2)
        entry["keras2_defaults_distance"] = float(np.max(np.abs(y2 - y))) if y2.shape == y.shape else None
    return entry


def make_only(root, patterns, force):
    """Make only the cases matching the patterns; keep every other folder and manifest entry."""
    order = list(CASES) + list(REFUSALS)
    picked = [n for n in order if any(fnmatch.fnmatch(n, p) for p in patterns)]
    if not picked:
        sys.exit(f"--only {' '.join(patterns)}: no such case")
    existing = [n for n in picked if (root / n).exists()]
    if existing and not force:
        sys.exit("refusing to overwrite (use --force): " + ", ".join(existing))
    manifest_path = root / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"cases": []}
    entries = {e["name"]: e for e in manifest["cases"]}
    root.mkdir(parents=True, exist_ok=True)
    made = []
    try:
        for name in picked:
            if (root / name).exists():
                shutil.rmtree(root / name)
            made.append(name)
            entries[name] = make_case(name, CASES[name], root) if name in CASES else make_refusal(name, REFUSALS[name], root)
    except BaseException:
        for name in made:
            shutil.rmtree(root / name, ignore_errors=True)
        raise
    manifest["generator"] = {"tensorflow": tf.__version__, "tf_keras": k.__version__, "numpy": np.__version__,
                             "h5py": h5py.__version__, "written_as_keras": "1.2.2"}
    manifest["cases"] = [entries[n] for n in order if n in entries]
    manifest = {"generator": manifest["generator"], "cases": manifest["cases"]}
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {len(picked)} cases to {root}; {len(manifest['cases'])} in manifest.json")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="replace an existing keras1/ folder (or the --only cases)")
    parser.add_argument("--root", type=Path, default=HERE, help="write DIR/keras1 instead of Fixtures/keras1")
    parser.add_argument("--only", action="append", metavar="CASE|PATTERN", help="make only these cases (repeatable)")
    args = parser.parse_args()
    if (tf.__version__, k.__version__) != ("2.21.0", "2.21.0"):
        sys.exit(f"needs tensorflow 2.21.0 and tf-keras 2.21.0 (Fixtures/requirements.txt), not {tf.__version__} / {k.__version__}")
    root = args.root / "keras1"
    if args.only:
        make_only(root, args.only, args.force)
        return
    if root.exists():
        if not args.force:
            sys.exit(f"{root} exists; give --force to replace it")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    try:
        cases = [make_case(name, spec, root) for name, spec in CASES.items()]
        cases += [make_refusal(name, spec, root) for name, spec in REFUSALS.items()]
    except BaseException:
        shutil.rmtree(root)
        raise
    manifest = {"generator": {"tensorflow": tf.__version__, "tf_keras": k.__version__, "numpy": np.__version__,
                              "h5py": h5py.__version__, "written_as_keras": "1.2.2"}, "cases": cases}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {root}")


if __name__ == "__main__":
    main()

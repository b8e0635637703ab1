#!/usr/bin/env python3
"""Generate reference data for gru-run with real Keras (tf_keras, legacy Keras 2).

Writes Fixtures/tfkeras/ (one folder per case + manifest.json), Fixtures/npy/
(.npy encoding samples + expected.json), example/ (shipped example) and Fixtures/tfkeras_defaults/
(weights-only files of the v2 GRU with its defaults).

Usage:  TF_USE_LEGACY_KERAS=1 python Fixtures/make_fixtures.py [--force] [--root DIR] [--only PART]

Existing outputs are never overwritten unless --force is given.
"""
import argparse
import importlib.metadata
import itertools
import json
import os
import shutil
import sys
import zlib
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if os.environ["TF_USE_LEGACY_KERAS"] != "1":
    sys.exit("TF_USE_LEGACY_KERAS must be 1")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402
from tf_keras.src.layers.rnn import gru_v1  # noqa: E402

HERE = Path(__file__).resolve().parent
LAYER_KEYS = ["units", "activation", "recurrent_activation", "use_bias", "reset_after",
              "return_sequences", "return_state", "go_backwards", "stateful", "time_major",
              "dropout", "recurrent_dropout", "implementation", "unroll"]


# ----------------------------------------------------------------------------- cases
def case(name, group, cls="gru_v1", dtype="float32", units=7, features=5, batch=5, steps=6,
         masking=None, pattern="mixed", explicit_mask=None, h0=False, calls=1, halves=False,
         fixed_steps=False, wscale=0.5, xscale=1.0, layer_name="gru", **layer):
    """One fixture case. `layer` holds GRU constructor kwargs (besides units/dtype/name).
    masking: Masking mask_value (input steps set to it per `pattern`) or None.
    explicit_mask: pattern name of a boolean mask passed to the layer call, or None."""
    return dict(name=name, group=group, cls=cls, dtype=dtype, units=units, features=features,
                batch=batch, steps=steps, masking=masking, pattern=pattern,
                explicit_mask=explicit_mask, h0=h0, calls=calls, halves=halves,
                fixed_steps=fixed_steps, wscale=wscale, xscale=xscale,
                layer_name=layer_name, layer=layer)


ACTIVATIONS = ["tanh", "sigmoid", "hard_sigmoid", "relu", "linear", "elu", "selu", "softplus",
               "softsign", "exponential", "swish", "silu", "gelu", "relu6", "leaky_relu", "mish"]
RECURRENT_ACTIVATIONS = ["sigmoid", "hard_sigmoid", "tanh", "relu6", "softsign", "swish",
                         "linear"]
SMALL_SCALE = {"exponential", "linear", "relu"}  # keep these from growing large
UNBOUNDED_GATES = {"relu6", "linear"}


def all_cases():
    cs = []
    for ra, rec, bwd, seq, msk in itertools.product([False, True], ["hard_sigmoid", "sigmoid"],
                                                     [False, True], [False, True],
                                                     [False, True]):
        name = "grid_ra%d_%s_%s_%s%s" % (ra, "hardsig" if rec == "hard_sigmoid" else "sigmoid",
                                        "bwd" if bwd else "fwd", "seq" if seq else "last",
                                        "_mask" if msk else "")
        cs.append(case(name, "grid", masking=0.0 if msk else None, fixed_steps=True,
                       reset_after=ra, recurrent_activation=rec, go_backwards=bwd,
                       return_sequences=seq))
    g = "initial_state"
    cs += [case("initial_state_ra0_last", g, h0=True, reset_after=False),
           case("initial_state_ra1_last", g, h0=True, reset_after=True,
                recurrent_activation="sigmoid"),
           case("initial_state_ra0_seq", g, h0=True, reset_after=False, return_sequences=True),
           case("initial_state_ra1_bwd_seq", g, h0=True, reset_after=True, go_backwards=True,
                return_sequences=True),
           case("initial_state_ra0_bwd_last", g, h0=True, reset_after=False, go_backwards=True),
           case("initial_state_ra1_seq_mask", g, h0=True, explicit_mask="mixed",
                reset_after=True, return_sequences=True),
           case("initial_state_ra0_last_mask", g, h0=True, explicit_mask="mixed",
                reset_after=False)]
    g = "explicit_mask"
    cs += [case("explicit_mask_ra0_last", g, explicit_mask="random", reset_after=False),
           case("explicit_mask_ra1_seq", g, explicit_mask="random", reset_after=True,
                return_sequences=True),
           case("explicit_mask_ra1_bwd_seq", g, explicit_mask="mixed", reset_after=True,
                go_backwards=True, return_sequences=True)]
    g = "time_major"
    cs += [case("time_major_ra0_seq", g, time_major=True, reset_after=False,
                return_sequences=True),
           case("time_major_ra1_seq", g, time_major=True, reset_after=True,
                return_sequences=True),
           case("time_major_ra0_seq_mask", g, masking=0.0, time_major=True, reset_after=False,
                return_sequences=True),
           case("time_major_ra1_seq_mask", g, masking=0.0, time_major=True, reset_after=True,
                recurrent_activation="sigmoid", return_sequences=True),
           case("time_major_ra0_bwd_seq", g, time_major=True, reset_after=False,
                go_backwards=True, return_sequences=True),
           case("time_major_ra1_last", g, time_major=True, reset_after=True),
           case("time_major_ra1_bwd_last_mask", g, masking=0.0, time_major=True,
                reset_after=True, go_backwards=True)]
    g, f64 = "float64", "float64"
    cs += [case("float64_ra0_hardsig_last", g, dtype=f64, reset_after=False),
           case("float64_ra1_sigmoid_seq", g, dtype=f64, reset_after=True,
                recurrent_activation="sigmoid", return_sequences=True),
           case("float64_ra0_sigmoid_seq_mask", g, dtype=f64, masking=0.0, reset_after=False,
                recurrent_activation="sigmoid", return_sequences=True),
           case("float64_ra1_hardsig_bwd_seq_mask", g, dtype=f64, masking=0.0,
                reset_after=True, go_backwards=True, return_sequences=True),
           case("float64_ra0_bwd_last", g, dtype=f64, reset_after=False, go_backwards=True),
           case("float64_ra1_initial_state_seq", g, dtype=f64, h0=True, reset_after=True,
                return_sequences=True)]
    g = "stateful"
    cs += [case("stateful_ra0_last", g, calls=2, stateful=True, reset_after=False),
           case("stateful_ra1_last", g, calls=2, stateful=True, reset_after=True),
           case("stateful_ra1_seq", g, calls=2, stateful=True, reset_after=True,
                return_sequences=True),
           case("stateful_ra0_bwd_seq", g, calls=2, stateful=True, reset_after=False,
                go_backwards=True, return_sequences=True),
           case("stateful_ra1_halves_seq", g, calls=2, halves=True, stateful=True,
                reset_after=True, return_sequences=True)]
    for i, act in enumerate(ACTIVATIONS):
        s = 0.25 if act in SMALL_SCALE else 0.5
        cs.append(case("activation_" + act, "activation", wscale=s, xscale=2 * s,
                       activation=act, reset_after=bool(i % 2), return_sequences=True))
    for i, act in enumerate(RECURRENT_ACTIVATIONS):
        # Unbounded gates (z outside [0, 1]) make h grow geometrically; small weights keep it O(1).
        s = 0.15 if act in UNBOUNDED_GATES else 0.5
        cs.append(case("recurrent_activation_" + act, "activation", recurrent_activation=act,
                       wscale=s, xscale=min(1.0, 2 * s), reset_after=bool(i % 2),
                       return_sequences=True))
    cs += [case("use_bias_false_ra0_seq", "use_bias", use_bias=False, reset_after=False,
                return_sequences=True),
           case("use_bias_false_ra1_seq", "use_bias", use_bias=False, reset_after=True,
                return_sequences=True)]
    for ra, seq in itertools.product([False, True], [False, True]):
        cs.append(case("return_state_ra%d_%s" % (ra, "seq" if seq else "last"), "return_state",
                       return_state=True, reset_after=ra, return_sequences=seq))
    g = "weights_only"
    cs += [case("weights_only_seed_defaults", g),
           case("weights_only_ra1", g, reset_after=True),
           case("weights_only_no_bias", g, use_bias=False),
           case("weights_only_bwd_seq", g, go_backwards=True, return_sequences=True),
           case("weights_only_float64", g, dtype="float64")]
    g, v2 = "v2_gru", "gru_v2"
    cs += [case("v2_gru_defaults_last", g, cls=v2),
           case("v2_gru_mask_last", g, cls=v2, masking=0.0),
           case("v2_gru_seq", g, cls=v2, return_sequences=True)]
    g = "config_extras"
    cs += [case("config_impl1_unroll_ra0_seq_mask", g, masking=0.0, fixed_steps=True,
                implementation=1, unroll=True, reset_after=False, return_sequences=True),
           case("config_impl1_unroll_ra1_bwd_seq", g, fixed_steps=True, implementation=1,
                unroll=True, reset_after=True, go_backwards=True, return_sequences=True),
           case("config_impl2_ra0_seq_mask", g, masking=0.0, implementation=2,
                reset_after=False, return_sequences=True),
           case("config_impl2_ra1_bwd_last", g, implementation=2, reset_after=True,
                recurrent_activation="sigmoid", go_backwards=True),
           case("config_dropout_ra0_last", g, dropout=0.3, recurrent_dropout=0.2,
                reset_after=False),
           case("config_dropout_ra1_seq", g, dropout=0.3, recurrent_dropout=0.2,
                reset_after=True, return_sequences=True),
           case("config_noise_ra1_seq", g, layer_name="encoder_gru", reset_after=True,
                return_sequences=True, kernel_regularizer="l2",
                recurrent_regularizer=tf_keras.regularizers.L1(0.01),
                bias_regularizer="l1_l2", activity_regularizer="l2",
                kernel_constraint="unit_norm", recurrent_constraint="non_neg",
                bias_constraint=tf_keras.constraints.MaxNorm(2.0),
                kernel_initializer="glorot_normal", recurrent_initializer="orthogonal",
                bias_initializer="ones", trainable=False),
           case("config_units1_seq", g, units=1, return_sequences=True),
           case("config_features1_seq", g, features=1, reset_after=True,
                return_sequences=True),
           case("config_units1_features1_last_mask", g, units=1, features=1, masking=0.0),
           case("config_mask_value_neg1_seq", g, masking=-1.0, return_sequences=True),
           case("config_steps1_seq", g, steps=1, return_sequences=True),
           case("config_batch1_ra1_seq", g, batch=1, reset_after=True,
                return_sequences=True),
           # One sample over several panels of units (the one-sample steps), both variants and types.
           case("config_batch1_ra0_seq_mask", g, batch=1, units=40, steps=12, masking=0.0,
                reset_after=False, return_sequences=True),
           case("config_batch1_ra1_sigmoid_bwd_last", g, batch=1, units=40, steps=12,
                reset_after=True, recurrent_activation="sigmoid", go_backwards=True),
           case("config_batch1_float64_ra0_seq", g, batch=1, units=40, steps=12, dtype="float64",
                reset_after=False, return_sequences=True)]
    big = dict(units=64, features=32, batch=4, steps=50, wscale=0.15, return_sequences=True)
    cs += [case("large_ra0_seq", "large", reset_after=False, **big),
           case("large_ra1_seq", "large", reset_after=True, **big),
           case("large_ra1_seq_mask", "large", masking=0.0, pattern="tails", reset_after=True,
                **big)]
    return cs


# ----------------------------------------------------------------------------- helpers
def keep_pattern(kind, b, t, rng):
    """Boolean (B,T) array, True = step is used."""
    keep = np.ones((b, t), bool)
    if kind == "mixed":  # padded tail, hole, all masked, leading masked, none
        rows = [slice(t - 2, t), slice(2, 4), slice(0, t), slice(0, 2)]
        for i, s in enumerate(rows[:b]):
            keep[i, s] = False
    elif kind == "tails":
        for i in range(b):
            keep[i, max(1, t - (t * i) // b - 3 * i):] = False
    elif kind == "random":
        keep = rng.random((b, t)) > 0.35
    else:
        raise ValueError(kind)
    return keep


def build(c, return_state=None, stateful=None):
    """Input -> [Masking] -> GRU. Sequential unless the GRU returns its state."""
    lk = dict(c["layer"])
    if return_state is not None:
        lk["return_state"] = return_state
    if stateful is not None:
        lk["stateful"] = stateful
    dt, d = c["dtype"], c["features"]
    t = c["steps"] if c["fixed_steps"] else None
    if lk.get("stateful"):
        inp = tf_keras.Input(batch_shape=(c["batch"], t, d), dtype=dt, name="input")
    elif lk.get("time_major"):  # the model's leading axis is time here
        inp = tf_keras.Input(shape=(None, d), dtype=dt, name="input")
    else:
        inp = tf_keras.Input(shape=(t, d), dtype=dt, name="input")
    layers = []
    if c["masking"] is not None:
        layers.append(tf_keras.layers.Masking(mask_value=c["masking"], dtype=dt, name="masking"))
    cls = gru_v1.GRU if c["cls"] == "gru_v1" else tf_keras.layers.GRU
    gru = cls(c["units"], dtype=dt, name=c["layer_name"], **lk)
    layers.append(gru)
    if lk.get("return_state"):
        out = inp
        for layer in layers:
            out = layer(out)
        return tf_keras.Model(inp, out, name="model"), gru
    return tf_keras.Sequential([inp] + layers, name="model"), gru


def run(model, gru, x, mask=None, h0=None):
    """Inference outputs as a list of numpy arrays."""
    if mask is not None or h0 is not None:
        kw = {"training": False}
        if mask is not None:
            kw["mask"] = tf.constant(mask)
        if h0 is not None:
            kw["initial_state"] = [tf.constant(h0)]
        out = gru(tf.constant(x), **kw)
    elif x.dtype == np.float64:  # predict() would cast numpy float64 input to floatx
        out = model(tf.constant(x), training=False)
    else:
        out = model.predict(x, batch_size=len(x), verbose=0)
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


def close(a, b, dtype):
    tol = 1e-12 if dtype == "float64" else 1e-6
    return a.shape == b.shape and np.allclose(a, b, rtol=tol, atol=tol)


def check_masked(c, y, h, keep, h0):
    """Masked steps repeat the previous output (0 before any step); all-masked rows keep h0."""
    lk = c["layer"]
    if lk.get("time_major"):  # keep is always (B,T)
        y = np.swapaxes(y, 0, 1) if lk.get("return_sequences") else y
    order = keep[:, ::-1] if lk.get("go_backwards") else keep
    if lk.get("return_sequences"):
        for b in range(keep.shape[0]):
            prev = np.zeros_like(y[b, 0])
            for t in range(keep.shape[1]):
                if order[b, t]:
                    prev = y[b, t]
                else:
                    assert np.array_equal(y[b, t], prev), (c["name"], b, t)
    for b in np.flatnonzero(~keep.any(axis=1)):
        assert not np.any(y[b]), (c["name"], b)
        assert np.array_equal(h[b], h0[b] if h0 is not None else np.zeros_like(h[b])), c["name"]


# ----------------------------------------------------------------------------- one case
def make_case(c, out_dir):
    tf_keras.backend.clear_session()
    rng = np.random.default_rng(zlib.crc32(c["name"].encode()))
    dt, lk = c["dtype"], c["layer"]
    b, t, d, u = c["batch"], c["steps"], c["features"], c["units"]
    model, gru = build(c)
    weights = [(rng.standard_normal(w.shape) * c["wscale"]).astype(dt)
               for w in gru.get_weights()]
    gru.set_weights(weights)
    cfg = gru.get_config()

    if c["halves"]:
        full = (rng.standard_normal((b, 2 * t, d)) * c["xscale"]).astype(dt)
        xs = [np.ascontiguousarray(full[:, :t]), np.ascontiguousarray(full[:, t:])]
    else:
        xs = [(rng.standard_normal((b, t, d)) * c["xscale"]).astype(dt)
              for _ in range(c["calls"])]
    case_dir = out_dir / c["name"]
    case_dir.mkdir(parents=True)
    calls = []
    for k, x in enumerate(xs, start=1):
        keep = mask = h0 = None
        if c["masking"] is not None:
            x[~keep_pattern(c["pattern"], b, t, rng)] = c["masking"]
            keep = np.any(x != c["masking"], axis=-1)
        if c["explicit_mask"]:
            keep = mask = keep_pattern(c["explicit_mask"], b, t, rng)
        if c["h0"]:
            h0 = (rng.standard_normal((b, u)) * 0.5).astype(dt)
        if lk.get("time_major"):
            x = np.ascontiguousarray(np.swapaxes(x, 0, 1))
        out = run(model, gru, x, mask, h0)
        y = out[0]
        if lk.get("return_state"):
            h = out[1]
        elif lk.get("stateful"):
            h = gru.states[0].numpy()
        else:  # twin with return_state=True and the same weights
            twin, tgru = build(c, return_state=True)
            tgru.set_weights(weights)
            tout = run(twin, tgru, x, mask, h0)
            assert close(tout[0], y, dt), c["name"] + ": twin output differs"
            h = tout[1]
        assert y.dtype == dt and h.shape == (b, u), c["name"]
        if keep is not None:
            check_masked(c, y, h, keep, h0)
        files = {"input": f"x{k}.npy", "output": f"y{k}.npy", "state": f"h{k}.npy",
                 "mask": f"mask{k}.npy" if mask is not None else None,
                 "initial_state": f"h0_{k}.npy" if h0 is not None else None}
        for key, arr in [("input", x), ("output", y), ("state", h), ("mask", mask),
                         ("initial_state", h0)]:
            if arr is not None:
                np.save(case_dir / files[key], arr)
        calls.append((files, y, h))

    if c["halves"]:  # stateful halves == one non-stateful run on the whole sequence
        tf_keras.backend.clear_session()
        twin, tgru = build(c, return_state=True, stateful=False)
        tgru.set_weights(weights)
        yf, hf = run(twin, tgru, full)
        (_, y1, _), (_, y2, h2) = calls
        assert close(y1, yf[:, :t], dt) and close(y2, yf[:, t:], dt) and close(h2, hf, dt), \
            c["name"] + ": halves differ from the whole-sequence run"

    model.save(case_dir / "model.h5")
    model.save_weights(case_dir / "weights.h5")
    names = ["kernel.npy", "recurrent_kernel.npy", "bias.npy"]
    for n, w in zip(names, gru.get_weights()):
        np.save(case_dir / n, w)
    return {
        "name": c["name"], "group": c["group"], "keras_class": c["cls"], "dtype": dt,
        "layer": {key: cfg[key] for key in LAYER_KEYS},
        "mask_value": c["masking"],
        "calls": [f for f, _, _ in calls],
        "weights": {"kernel": names[0], "recurrent_kernel": names[1],
                    "bias": names[2] if cfg["use_bias"] else None},
        "files": {"model": "model.h5", "weights": "weights.h5"},
    }


# ----------------------------------------------------------------------------- npy + example
def make_npy(out_dir):
    out_dir.mkdir(parents=True)
    a = (np.arange(2 * 3 * 4).reshape(2, 3, 4) - 7.5) / 3
    arrays = {
        "v1_f4_c.npy": (a.astype("<f4"), (1, 0)),
        "v1_f8_c.npy": (a.astype("<f8"), (1, 0)),
        "v1_be_f4.npy": (a.astype(">f4"), (1, 0)),
        "v1_be_f8.npy": (a.astype(">f8"), (1, 0)),
        "v1_f8_fortran.npy": (np.asfortranarray(a.astype("<f8")), (1, 0)),
        "v1_be_f4_fortran.npy": (np.asfortranarray(a.astype(">f4")), (1, 0)),
        "v2_f4.npy": (a.astype("<f4"), (2, 0)),
        "v3_f8.npy": (a.astype("<f8"), (3, 0)),
        "mask_b1.npy": (np.array([[1, 1, 0], [1, 0, 1]], dtype=bool), (1, 0)),
    }
    expected = []
    for fname, (arr, version) in arrays.items():
        with open(out_dir / fname, "wb") as f:
            np.lib.format.write_array(f, arr, version=version)
        back = np.load(out_dir / fname)
        assert back.dtype == arr.dtype and np.array_equal(back, arr), fname
        flat = arr.ravel(order="C")
        expected.append({"file": fname, "dtype": arr.dtype.str, "shape": list(arr.shape),
                         "fortran_order": bool(arr.ndim > 1 and arr.flags.f_contiguous
                                               and not arr.flags.c_contiguous),
                         "version": list(version),
                         "values": [bool(v) for v in flat] if arr.dtype == bool
                         else [float(v) for v in flat]})
    (out_dir / "expected.json").write_text(json.dumps({"files": expected}, indent=1) + "\n")


def write_csv(path, arr, header=None):
    blocks = [",".join(repr(float(v)) for v in row) for row in arr[0]]
    lines = ([header] if header else []) + blocks
    for sample in arr[1:]:
        lines += [""] + [",".join(repr(float(v)) for v in row) for row in sample]
    path.write_text("\n".join(lines) + "\n")


def make_example(out_dir):
    """Seed GRU (units=4, D=3, Masking(0.0), return_sequences, hard_sigmoid, reset_after=False)."""
    tf_keras.backend.clear_session()
    rng = np.random.default_rng(20240601)
    c = case("example", "example", units=4, features=3, batch=2, steps=5, masking=0.0,
             recurrent_activation="hard_sigmoid", reset_after=False, return_sequences=True)
    model, gru = build(c)
    gru.set_weights([(rng.standard_normal(w.shape) * 0.5).astype("float32")
                     for w in gru.get_weights()])
    x = (rng.integers(-12, 13, size=(2, 5, 3)) / 8).astype("float32")  # exact in binary
    x[np.all(x == 0, axis=-1)] = 0.25  # no accidental fully-zero step ...
    x[1, 4] = 0.0  # ... except the padded last step of sample 1
    y = model.predict(x, batch_size=2, verbose=0)
    assert np.array_equal(y[1, 4], y[1, 3]) and np.all(np.any(x[0] != 0, -1))
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / "model.h5")
    write_csv(out_dir / "input.csv", x, header="f0,f1,f2")
    write_csv(out_dir / "expected.csv", y)


def make_other_models(out_dir):
    """Models that are not a lone GRU: a Dense-only model (no GRU to find) and a GRU between a
    Masking and a Dense layer (run with --layer), with the GRU's own output as Keras computes it."""
    tf_keras.backend.clear_session()
    rng = np.random.default_rng(20240602)
    out_dir.mkdir(parents=True, exist_ok=True)
    dense = tf_keras.Sequential([tf_keras.Input(shape=(6, 5)), tf_keras.layers.Dense(3, name="dense")],
                                name="dense_model")
    dense.save(out_dir / "dense_only.h5")
    masking = tf_keras.layers.Masking(mask_value=0.0, name="masking")
    gru = gru_v1.GRU(7, return_sequences=True, name="encoder")
    head = tf_keras.layers.Dense(2, name="head")
    model = tf_keras.Sequential([tf_keras.Input(shape=(6, 5)), masking, gru, head], name="tagger")
    for layer in (gru, head):
        layer.set_weights([(rng.standard_normal(w.shape) * 0.5).astype("float32")
                           for w in layer.get_weights()])
    x = rng.standard_normal((3, 6, 5)).astype("float32")
    x[0, 4:] = 0.0
    x[2, 1] = 0.0
    y = np.asarray(gru(x, mask=masking.compute_mask(x), training=False))
    model.save(out_dir / "gru_dense.h5")
    model.save_weights(out_dir / "gru_dense_weights.h5")
    np.save(out_dir / "x.npy", x)
    np.save(out_dir / "y_encoder.npy", y)


# ----------------------------------------------------------------------------- weights-only defaults
def h5_layout(path):
    """"legacy" (layer_names / weight_names, tf-keras's HDF5 writer) or "layers" (/layers/..., saving_lib)."""
    with h5py.File(path, "r") as f:
        return "legacy" if "layer_names" in f.attrs else "layers"


DEFAULTS_SHAPE = (3, 7, 5, 16)  # batch, steps, features, units


def make_defaults(out_dir, generator):
    """Weights-only files of tf_keras.layers.GRU (the v2 GRU: sigmoid, reset_after=True) with its defaults,
    as Model.save_weights writes them: "weights.h5" in the legacy layout (layer_names / weight_names),
    "model.weights.h5" in the /layers layout (saving_lib, the same layout as Keras 3's), and
    "legacy.weights.h5", the legacy writer's output under a name like Keras 3's. gru-run reads them with
    no flags; the Keras 2 seed defaults (hard_sigmoid) must give other numbers, so the case tells them apart."""
    from tf_keras.src.saving.legacy import save as legacy_save
    b, t, d, u = DEFAULTS_SHAPE
    L = tf_keras.layers
    specs = [
        ("v2_gru16", "tf_keras.layers.GRU(16), its defaults", lambda **kw: L.GRU(u, name="gru", **kw),
         ["weights.h5", "model.weights.h5", "legacy.weights.h5"]),
        ("v2_bidi16", "Bidirectional(tf_keras.layers.GRU(16)), their defaults (merge_mode concat)",
         lambda **kw: L.Bidirectional(L.GRU(u, **kw), name="bidirectional"), ["weights.h5", "model.weights.h5"]),
        ("v2_ra0_gru16", "tf_keras.layers.GRU(16, reset_after=False): a (3U,) bias, which gru-run takes for the "
         "v1 seed layer's (hard_sigmoid) unless told --recurrent-activation sigmoid",
         lambda **kw: L.GRU(u, reset_after=False, name="gru", **kw), ["weights.h5"]),
    ]
    out_dir.mkdir(parents=True)
    entries = []
    for name, description, make, files in specs:
        tf_keras.backend.clear_session()
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        build = lambda **kw: tf_keras.Sequential([tf_keras.Input(shape=(t, d)), make(**kw)], name="model")  # noqa: E731
        model = build()
        layer = model.layers[-1]
        weights = [(rng.standard_normal(w.shape) * 0.5).astype("float32") for w in layer.get_weights()]
        layer.set_weights(weights)
        x = rng.standard_normal((b, t, d)).astype("float32")
        y = model.predict(x, batch_size=b, verbose=0)
        inp = tf_keras.Input(shape=(t, d))  # the final state(s), from a twin that returns them
        twin = tf_keras.Model(inp, make(return_state=True)(inp))
        twin.layers[-1].set_weights(weights)
        ty, *states = twin.predict(x, batch_size=b, verbose=0)
        assert close(ty, y, "float32"), name
        h = states[0] if len(states) == 1 else np.stack(states)
        # The seed's defaults (hard_sigmoid, Keras 2 definition) on the same weights give other numbers.
        inner = layer.forward_layer if hasattr(layer, "forward_layer") else layer
        cfg = inner.get_config()
        seed_gru = gru_v1.GRU(u, reset_after=cfg["reset_after"])
        seed = tf_keras.Sequential([tf_keras.Input(shape=(t, d)),
                                    L.Bidirectional(seed_gru) if inner is not layer else seed_gru])
        seed.layers[-1].set_weights(weights)
        assert np.max(np.abs(seed.predict(x, batch_size=b, verbose=0) - y)) > 1e-3, name + ": the seed's defaults fit too"
        case_dir = out_dir / name
        case_dir.mkdir()
        for file in files:
            if file == "legacy.weights.h5":
                legacy_save.save_weights(model, str(case_dir / file))
            else:
                model.save_weights(case_dir / file)
            again = build()
            if file == "legacy.weights.h5":
                legacy_save.load_weights(again, str(case_dir / file))
            else:
                again.load_weights(case_dir / file)
            assert close(again.predict(x, batch_size=b, verbose=0), y, "float32"), f"{name}/{file} reloads differently"
        layouts = {file: h5_layout(case_dir / file) for file in files}
        assert layouts.get("legacy.weights.h5", "legacy") == "legacy" and layouts.get("model.weights.h5", "layers") == "layers"
        for file_name, arr in [("x.npy", x), ("y.npy", y), ("h.npy", h)]:
            np.save(case_dir / file_name, arr)
        entries.append({
            "name": name, "group": "defaults", "description": description, "source": "tfkeras",
            "keras_version": tf_keras.__version__,
            "dtype": "float32", "class_name": layer.__class__.__name__,
            "merge_mode": getattr(layer, "merge_mode", None),
            "layer": {key: cfg.get(key) for key in LAYER_KEYS},
            "files": files, "layouts": layouts,
            "calls": [{"input": "x.npy", "output": "y.npy", "state": "h.npy"}],
        })
        print("wrote", name)
    (out_dir / "manifest.json").write_text(json.dumps({"generator": generator, "cases": entries}, indent=1) + "\n")


# ----------------------------------------------------------------------------- main
def check_versions():
    pins = dict(line.strip().split("==") for line in
                (HERE / "requirements.txt").read_text().splitlines() if "==" in line)
    have = {"tensorflow-cpu": importlib.metadata.version("tensorflow-cpu"),
            "tf-keras": tf_keras.__version__, "numpy": np.__version__, "h5py": h5py.__version__}
    bad = {k: (have[k], v) for k, v in pins.items() if have.get(k) != v}
    if bad or tf.__version__ != pins["tensorflow-cpu"]:
        sys.exit(f"installed versions differ from Fixtures/requirements.txt: {bad} "
                 f"(tensorflow {tf.__version__})")
    return {"tensorflow": tf.__version__, "tf_keras": tf_keras.__version__,
            "numpy": np.__version__, "h5py": h5py.__version__}


def describe_h5(path):
    """Print every attribute of an HDF5 file with its stored HDF5 type (for reader authors)."""
    def kind(obj, name):
        attr = h5py.h5a.open(obj.id, name.encode())
        t, shape = attr.get_type(), attr.get_space().shape
        if isinstance(t, h5py.h5t.TypeStringID):
            size = "vlen" if t.is_variable_str() else f"fixed[{t.get_size()}]"
            return f"string {('ascii', 'utf-8')[t.get_cset()]} {size} shape={shape}"
        return f"{t.dtype} shape={shape}"

    def show(name, obj):
        for k in obj.attrs:
            print(f"  {obj.name}@{k}: {kind(obj, k)} = {str(obj.attrs[k])[:100]!r}")
    print(f"== {path}")
    with h5py.File(path, "r") as f:
        show("/", f)
        f.visititems(show)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="replace existing outputs")
    ap.add_argument("--root", type=Path, default=HERE.parent, help="repository root")
    ap.add_argument("--only", choices=["npy", "example", "other", "tfkeras", "defaults"], action="append",
                    help="make only these parts (default: all)")
    args = ap.parse_args()
    generator = check_versions()
    tk, npy, ex, other = (args.root / "Fixtures" / "tfkeras", args.root / "Fixtures" / "npy",
                          args.root / "example", args.root / "Fixtures" / "tfkeras_other")
    defaults = args.root / "Fixtures" / "tfkeras_defaults"
    parts = {"npy": [npy], "example": [ex / n for n in ("model.h5", "input.csv", "expected.csv")],
             "other": [other], "tfkeras": [tk], "defaults": [defaults]}
    chosen = args.only or list(parts)
    outputs = [p for name in chosen for p in parts[name]]
    existing = [p for p in outputs if p.exists()]
    if existing and not args.force:
        sys.exit("refusing to overwrite (use --force): " + ", ".join(map(str, existing)))
    for p in existing:
        shutil.rmtree(p) if p.is_dir() else p.unlink()

    if "npy" in chosen:
        make_npy(npy)
    if "example" in chosen:
        make_example(ex)
    if "other" in chosen:
        make_other_models(other)
    if "defaults" in chosen:
        make_defaults(defaults, generator)
    if "tfkeras" not in chosen:
        return
    tk.mkdir(parents=True)
    entries = []
    for c in all_cases():
        entries.append(make_case(c, tk))
        print("wrote", c["name"])
    manifest = {"generator": generator, "cases": entries}
    (tk / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    groups = {}
    for e in entries:
        groups[e["group"]] = groups.get(e["group"], 0) + 1
    print(f"{len(entries)} cases:", groups)
    describe_h5(tk / "grid_ra0_hardsig_fwd_last" / "model.h5")
    describe_h5(tk / "grid_ra0_hardsig_fwd_last" / "weights.h5")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generate Keras 3 and legacy-format reference data for gru-run.

Writes Fixtures/keras3/ (Keras 3 `.keras`, `.weights.h5` and legacy `.h5` files) and
Fixtures/legacy/ (tf-keras Bidirectional / stacks / split attributes / subclassed prefixes,
and HDF5 files built with h5py in the Keras 2.1 and CuDNNGRU layouts), each with a
manifest.json. The Keras 3 part and the tf-keras part run in two child processes:

  keras3 part:  KERAS_BACKEND=tensorflow, TF_USE_LEGACY_KERAS unset, `import keras` (3.x)
  legacy part:  TF_USE_LEGACY_KERAS=1, `import tf_keras` explicitly

Also writes Fixtures/keras3_defaults/: Keras 3 weights-only files of layers with their defaults.

Usage:  python Fixtures/make_fixtures_keras3.py [--force] [--root DIR] [--only keras3|legacy|keras3_defaults]

Existing outputs are never overwritten unless --force is given.
"""
import argparse
import contextlib
import importlib.metadata
import json
import math
import os
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PINS = HERE / "requirements-keras3.txt"
LAYER_KEYS = ["units", "activation", "recurrent_activation", "use_bias", "reset_after",
              "return_sequences", "return_state", "go_backwards", "stateful", "time_major",
              "dropout", "recurrent_dropout", "implementation", "unroll"]
U, D, B, T = 7, 5, 5, 6          # units, features, batch, steps
WSCALE = 0.5                      # weights: standard normal * WSCALE
MASK_VALUE = 0.0
# .keras archives: the clock Keras reads while saving, fixed so that re-runs are byte-identical
FIXED_EPOCH = 1735689600          # 2025-01-01 00:00:00 UTC
SHARED_ID_BASE = 140000000000000  # shared_object_id values look like CPython ids (> 2**32)


# ============================================================================ common (no TF)
def rng_for(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def mixed_keep(b=B, t=T):
    """(B,T) bool, True = step used: padded tail, hole, all masked, leading masked, none.
    Same rule as keep_pattern("mixed", ...) in make_fixtures.py."""
    keep = np.ones((b, t), bool)
    rows = [slice(t - 2, t), slice(2, 4), slice(0, t), slice(0, 2)]
    for i, s in enumerate(rows[:b]):
        keep[i, s] = False
    return keep


def close(a, b, dtype, tol=None):
    a, b = np.asarray(a), np.asarray(b)
    tol = tol if tol is not None else (1e-12 if str(dtype) == "float64" else 2e-6)
    return a.shape == b.shape and np.allclose(a, b, rtol=tol, atol=tol)


def ref_close(a, b, dtype):
    """Keras output vs the float64 NumPy reference."""
    return close(a, b, dtype, 1e-11 if str(dtype) == "float64" else 2e-5)


_erf = np.vectorize(math.erf)


def activation(name, hard):
    """Element-wise activations (float64). hard: 'keras2' (0.2x+0.5) or 'keras3' (x/6+0.5)."""
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    table = {
        "tanh": np.tanh, "sigmoid": sig, "linear": lambda v: v, None: lambda v: v,
        "relu": lambda v: np.maximum(v, 0),
        "gelu": lambda v: 0.5 * v * (1 + _erf(v / math.sqrt(2))),
        "gelu_tanh": lambda v: 0.5 * v * (1 + np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3))),
        "hard_sigmoid": (lambda v: np.clip(v / 6 + 0.5, 0, 1)) if hard == "keras3"
        else (lambda v: np.clip(0.2 * v + 0.5, 0, 1)),
    }
    return table[name]


def ref_gru(x, w, cfg, keep=None, h0=None, zero_output=False, hard="keras3"):
    """NumPy GRU (float64). Returns (output as Keras returns it, final state)."""
    x = np.asarray(x, np.float64)
    kernel, rec = (np.asarray(a, np.float64) for a in w[:2])
    bias = np.asarray(w[2], np.float64) if cfg["use_bias"] else None
    u = rec.shape[0]
    act, ract = activation(cfg["activation"], hard), activation(cfg["recurrent_activation"], hard)
    ra = cfg["reset_after"]
    b_in = b_rec = 0.0
    if bias is not None:
        b_in, b_rec = (bias[0], bias[1]) if ra else (bias, 0.0)
    h = np.zeros((x.shape[0], u)) if h0 is None else np.asarray(h0, np.float64)
    prev = np.zeros_like(h)
    outs = []
    steps = range(x.shape[1])
    for t in (reversed(steps) if cfg["go_backwards"] else steps):
        xi = x[:, t] @ kernel + b_in
        if ra:
            hr = h @ rec + b_rec
            z = ract(xi[:, :u] + hr[:, :u])
            r = ract(xi[:, u:2 * u] + hr[:, u:2 * u])
            hh = act(xi[:, 2 * u:] + r * hr[:, 2 * u:])
        else:
            z = ract(xi[:, :u] + h @ rec[:, :u])
            r = ract(xi[:, u:2 * u] + h @ rec[:, u:2 * u])
            hh = act(xi[:, 2 * u:] + (r * h) @ rec[:, 2 * u:])
        hn = z * h + (1 - z) * hh
        if keep is None:
            out, h = hn, hn
        else:
            k = keep[:, t][:, None]
            out = np.where(k, hn, 0.0 if zero_output else prev)
            h = np.where(k, hn, h)
        prev = out
        outs.append(out)
    seq = np.stack(outs, axis=1)
    return (seq if cfg["return_sequences"] else seq[:, -1]), h


def ref_bidi(x, wf, wb, cf, cb, merge, keep=None, h0=(None, None), zero_output=False,
             hard="keras3"):
    """Bidirectional: backward sequence flipped back into input order, then merged."""
    yf, hf = ref_gru(x, wf, cf, keep, h0[0], zero_output, hard)
    yb, hb = ref_gru(x, wb, cb, keep, h0[1], zero_output, hard)
    if cf["return_sequences"]:
        yb = yb[:, ::-1]
    merged = {"concat": lambda: np.concatenate([yf, yb], -1), "sum": lambda: yf + yb,
              "mul": lambda: yf * yb, "ave": lambda: (yf + yb) / 2,
              None: lambda: [yf, yb]}[merge]()
    return merged, hf, hb


def cfg_subset(cfg):
    return {k: cfg.get(k) for k in LAYER_KEYS}


def gru_flags(cfg, hard, mask_value=None, layer=None):
    """gru-run flags for a weights-only file: what the file cannot tell (seed defaults are
    tanh / hard_sigmoid / reset_after=False; bias presence and shape decide use_bias and
    reset_after; --hard-sigmoid is listed explicitly whenever hard_sigmoid is used)."""
    f = []
    if cfg["activation"] != "tanh":
        f += ["--activation", cfg["activation"]]
    if cfg["recurrent_activation"] != "hard_sigmoid":
        f += ["--recurrent-activation", cfg["recurrent_activation"]]
    if "hard_sigmoid" in (cfg["activation"], cfg["recurrent_activation"]):
        f += ["--hard-sigmoid", hard]
    if not cfg["use_bias"]:
        f += ["--reset-after" if cfg["reset_after"] else "--no-reset-after"]
    if cfg["return_sequences"]:
        f += ["--return-sequences"]
    if cfg["go_backwards"]:
        f += ["--go-backwards"]
    if mask_value is not None:
        f += ["--mask-value", repr(float(mask_value))]
    if layer is not None:
        f += ["--layer", layer]
    return f


def model_layers_from_config(model_config, live=None):
    """[{name, class_name, ...}] in the order of the saved config's layer list."""
    cfg = model_config["config"]
    layers = cfg if isinstance(cfg, list) else cfg["layers"]
    out = []
    for lc in layers:
        c = lc.get("config", {})
        e = {"name": c.get("name", lc.get("name")), "class_name": lc["class_name"]}
        obj = live(e["name"]) if live else None
        if lc["class_name"] in ("GRU", "CuDNNGRU"):
            e["config"] = cfg_subset(obj.get_config() if obj is not None else c)
        elif lc["class_name"] == "Masking":
            e["mask_value"] = c["mask_value"]
        elif lc["class_name"] == "Bidirectional":
            e["merge_mode"] = c["merge_mode"]
            e["forward"] = dict(name=obj.forward_layer.name,
                                **cfg_subset(obj.forward_layer.get_config()))
            e["backward"] = dict(name=obj.backward_layer.name,
                                 **cfg_subset(obj.backward_layer.get_config()))
        out.append(e)
    return out


def save_npy(case_dir, name, arr):
    np.save(case_dir / name, np.ascontiguousarray(arr))
    return name


def h5_string_kinds(path):
    """{'/obj@attr': 'vlen'|'fixed[n]'|dtype} for every attribute in an HDF5 file."""
    import h5py
    kinds = {}

    def kind(obj, name):
        attr = h5py.h5a.open(obj.id, name.encode())
        t = attr.get_type()
        if isinstance(t, h5py.h5t.TypeStringID):
            return "vlen" if t.is_variable_str() else f"fixed[{t.get_size()}]"
        return str(t.dtype)

    def visit(_, obj):
        for k in obj.attrs:
            kinds[f"{obj.name}@{k}"] = kind(obj, k)
    with h5py.File(path, "r") as f:
        visit(None, f)
        f.visititems(visit)
    return kinds


def h5_tree(path):
    import h5py
    lines = []
    with h5py.File(path, "r") as f:
        for k, v in f.attrs.items():
            lines.append(f"  /@{k} = {str(v)[:90]!r}")

        def visit(name, obj):
            shape = f" {obj.shape} {obj.dtype}" if hasattr(obj, "shape") else ""
            attrs = " ".join(f"@{k}={str(v)[:70]!r}" for k, v in obj.attrs.items())
            lines.append(f"  /{name}{shape} {attrs}".rstrip())
        f.visititems(visit)
    return "\n".join(lines)


def write_manifest(out_dir, generator, entries):
    (out_dir / "manifest.json").write_text(
        json.dumps({"generator": generator, "cases": entries}, indent=1) + "\n")
    groups = {}
    for e in entries:
        groups[e["group"]] = groups.get(e["group"], 0) + 1
    print(f"{out_dir.name}: {len(entries)} cases:", groups)


# ============================================================================ Keras 3 part
def keras3_part(out_dir):
    assert os.environ.get("TF_USE_LEGACY_KERAS") is None, "unset TF_USE_LEGACY_KERAS for Keras 3"
    assert os.environ.get("KERAS_BACKEND") == "tensorflow"
    import h5py
    import keras
    import tensorflow as tf
    from keras.src.saving import saving_lib, serialization_lib
    import zipfile
    import datetime as dt_mod
    assert keras.__version__.startswith("3.") and keras.backend.backend() == "tensorflow"
    tf.get_logger().setLevel("ERROR")
    L = keras.layers
    kv = keras.__version__

    @contextlib.contextmanager
    def reproducible_save():
        """Fix what a .keras archive takes from the clock and from id(): metadata.json
        date_saved, the model.weights.h5 zip member time, config.json shared_object_id."""
        class FixedDateTime(dt_mod.datetime):
            @classmethod
            def now(cls, tz=None):
                return cls(2025, 1, 1, 0, 0, 0)

        class FixedClock:
            @staticmethod
            def time():
                return float(FIXED_EPOCH)

            @staticmethod
            def localtime(secs=None):
                return time.gmtime(FIXED_EPOCH if secs is None else secs)
        ids = {}

        def stable_id(obj):
            return ids.setdefault(id(obj), SHARED_ID_BASE + 16 * len(ids))
        old = saving_lib.datetime, zipfile.time
        saving_lib.datetime = type("FixedDatetimeModule", (), {"datetime": FixedDateTime})
        zipfile.time = FixedClock
        serialization_lib.id = stable_id
        try:
            yield
        finally:
            saving_lib.datetime, zipfile.time = old
            del serialization_lib.id

    def seq_model(layers, dtype="float32"):
        return keras.Sequential([keras.Input(shape=(T, D), dtype=dtype)] + layers)

    def gru(**kw):
        kw.setdefault("units", U)
        return L.GRU(**kw)

    def bidi(merge="concat", rs=True, **kw):
        return L.Bidirectional(gru(return_sequences=rs, **kw), merge_mode=merge)

    def functional(build_layers, name="functional", dtype="float32"):
        def make():
            inp = keras.Input(shape=(T, D), dtype=dtype, name="input")
            out = inp
            for layer in build_layers():
                out = layer(out)
            return keras.Model(inp, out, name=name)
        return make

    # ---------------------------------------------------------------- cases
    F_ALL = ("keras", "weights_h5", "model")
    cases = []

    def add(name, group, build, files=("keras",), desc="", dtype="float32", masking=False,
            h0=None, probe=None):
        """build: () -> model. h0: None | 'gru' | 'bidi' (call that layer directly with
        initial_state). probe: names of layers whose own output is recorded."""
        cases.append(dict(name=name, group=group, build=build, files=files, desc=desc,
                          dtype=dtype, masking=masking, h0=h0, probe=probe or []))

    m = lambda *a, **k: (lambda: seq_model(list(a_() for a_ in a), **k))  # noqa: E731
    mask = lambda: L.Masking(mask_value=MASK_VALUE)  # noqa: E731
    g = "single"
    add("k3_gru_seq", g, m(lambda: gru(return_sequences=True)), F_ALL,
        "GRU alone, Keras 3 defaults (sigmoid, reset_after=True), return_sequences")
    add("k3_gru_last", g, m(lambda: gru()), ("keras", "weights_h5"),
        "GRU alone, Keras 3 defaults, last output")
    add("k3_hard_sigmoid_seq", g, m(lambda: gru(recurrent_activation="hard_sigmoid",
                                                return_sequences=True)), F_ALL,
        "recurrent_activation='hard_sigmoid' with the Keras 3 definition relu6(x+3)/6")
    add("k3_hard_sigmoid_ra0_last", g,
        m(lambda: gru(recurrent_activation="hard_sigmoid", reset_after=False)),
        ("keras", "weights_h5"), "Keras 3 hard_sigmoid, reset_after=False, last output")
    add("k3_reset_after_false_seq", g, m(lambda: gru(reset_after=False, return_sequences=True)),
        ("keras", "weights_h5"), "reset_after=False (bias (3U,))")
    add("k3_masking_seq", g, m(mask, lambda: gru(return_sequences=True)), F_ALL,
        "Masking(0.0) + GRU, return_sequences", masking=True)
    add("k3_masking_last", g, m(mask, lambda: gru()), ("keras",),
        "Masking(0.0) + GRU, last output", masking=True)
    add("k3_go_backwards_seq", g, m(lambda: gru(go_backwards=True, return_sequences=True)),
        ("keras", "weights_h5"), "go_backwards, sequence in processing (reversed) order")
    add("k3_go_backwards_masking_last", g, m(mask, lambda: gru(go_backwards=True)), ("keras",),
        "Masking + go_backwards, last output", masking=True)
    add("k3_no_bias_seq", g, m(lambda: gru(use_bias=False, return_sequences=True)),
        ("keras", "weights_h5"), "use_bias=False (reset_after=True: no bias to tell it)")
    add("k3_no_bias_ra0_last", g, m(lambda: gru(use_bias=False, reset_after=False)),
        ("keras", "weights_h5"), "use_bias=False, reset_after=False")
    add("k3_activation_gelu_seq", g, m(lambda: gru(activation="gelu", return_sequences=True)),
        ("keras", "weights_h5"), "activation='gelu': keras.activations.gelu, approximate=False (erf)")
    add("k3_return_state_seq", g,
        functional(lambda: [gru(return_sequences=True, return_state=True)]), ("keras",),
        "functional model, return_state=True: outputs [sequence, h]")
    add("k3_initial_state_seq", g, m(lambda: gru(return_sequences=True)), ("keras",),
        "GRU called directly with initial_state=[h0]", h0="gru")
    add("k3_functional_masking_seq", g,
        functional(lambda: [mask(), gru(return_sequences=True, name="encoder")], "tagger"),
        ("keras", "weights_h5"), "functional Input -> Masking -> GRU 'encoder' (the config "
        "also lists the NotEqual/Any ops Keras records for the mask; no legacy .h5: Keras "
        "3.15.1 cannot load that back, 'Unknown layer: NotEqual')", masking=True)
    g = "float64"
    f64 = "float64"
    add("k3_float64_seq", g, m(lambda: L.Masking(MASK_VALUE, dtype=f64),
                               lambda: gru(return_sequences=True, dtype=f64), dtype=f64),
        F_ALL, "float64 layers and input, Masking + GRU", dtype=f64, masking=True)
    add("k3_float64_hard_sigmoid_last", g,
        m(lambda: gru(recurrent_activation="hard_sigmoid", dtype=f64), dtype=f64),
        ("keras", "weights_h5"), "float64, Keras 3 hard_sigmoid, last output", dtype=f64)
    add("k3_float64_bidi_concat_seq_mask", g,
        m(lambda: L.Masking(MASK_VALUE, dtype=f64),
          lambda: L.Bidirectional(gru(return_sequences=True, dtype=f64), dtype=f64), dtype=f64),
        ("keras", "weights_h5"), "float64 Masking + Bidirectional(GRU) concat",
        dtype=f64, masking=True)
    g = "bidirectional"
    add("k3_bidi_concat_seq", g, m(lambda: bidi("concat")), F_ALL, "Bidirectional concat")
    add("k3_bidi_sum_seq", g, m(lambda: bidi("sum")), ("keras", "model"), "Bidirectional sum")
    add("k3_bidi_mul_seq", g, m(lambda: bidi("mul")), ("keras",), "Bidirectional mul")
    add("k3_bidi_ave_seq", g, m(lambda: bidi("ave")), ("keras",), "Bidirectional ave")
    add("k3_bidi_none_seq", g, m(lambda: bidi(None)), ("keras",),
        "Bidirectional merge_mode=None: output is [forward, backward]")
    add("k3_bidi_concat_last", g, m(lambda: bidi("concat", rs=False)), ("keras", "weights_h5"),
        "Bidirectional concat, return_sequences=False")
    add("k3_bidi_return_state_seq", g,
        functional(lambda: [bidi("concat", return_state=True)]), ("keras",),
        "functional, Bidirectional return_state=True: outputs [merged, fw_h, bw_h]")
    add("k3_bidi_none_return_state_last", g,
        functional(lambda: [bidi(None, rs=False, return_state=True)]), ("keras",),
        "merge_mode=None + return_state: outputs [fw, bw, fw_h, bw_h]")
    add("k3_bidi_masking_seq", g, m(mask, lambda: bidi("concat")), ("keras", "model"),
        "Masking + Bidirectional concat (masked steps output 0)", masking=True)
    add("k3_bidi_masking_last", g, m(mask, lambda: bidi("concat", rs=False)), ("keras",),
        "Masking + Bidirectional concat, return_sequences=False", masking=True)
    add("k3_bidi_initial_state_seq", g, m(lambda: bidi("concat")), ("keras",),
        "Bidirectional called directly with initial_state=[fw_h0, bw_h0]", h0="bidi")
    add("k3_bidi_hard_sigmoid_ra0_seq", g,
        m(lambda: bidi("concat", recurrent_activation="hard_sigmoid", reset_after=False)),
        ("keras", "weights_h5"), "Bidirectional of a hard_sigmoid reset_after=False GRU")
    g = "stack"
    add("k3_stack_masking_2gru", g, m(mask, lambda: gru(return_sequences=True), lambda: gru()),
        F_ALL, "Masking -> GRU 'gru' (sequences) -> GRU 'gru_1' (last); mask carried",
        masking=True, probe=["gru", "gru_1"])
    add("k3_stack_3gru", g,
        m(lambda: gru(return_sequences=True, name="enc"),
          lambda: gru(units=4, return_sequences=True, recurrent_activation="hard_sigmoid",
                      name="mid"),
          lambda: gru(units=3, reset_after=False, name="dec")),
        ("keras", "weights_h5"), "3 GRUs named enc/mid/dec (weights groups gru, gru_1, gru_2)",
        probe=["enc", "mid", "dec"])
    add("k3_stack_gru_bidi_mask", g,
        m(mask, lambda: gru(return_sequences=True), lambda: bidi("concat", units=4)),
        F_ALL, "Masking -> GRU (sequences) -> Bidirectional(GRU) concat", masking=True,
        probe=["gru", "bidirectional"])
    add("k3_gru_dense", "layer_select",
        m(mask, lambda: gru(return_sequences=True, name="encoder"),
          lambda: L.Dense(2, name="head")),
        F_ALL, "Masking -> GRU 'encoder' -> Dense 'head'; y_encoder.npy is the GRU's own output",
        masking=True, probe=["encoder"])

    # ---------------------------------------------------------------- helpers
    def predict(model, x):
        if x.dtype == np.float64:
            out = model(tf.constant(x), training=False)
        else:
            out = model.predict(x, batch_size=len(x), verbose=0)
        return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]

    def direct(model, kind, x, h0):
        layer = [lay for lay in model.layers if lay.__class__.__name__ ==
                 ("GRU" if kind == "gru" else "Bidirectional")][0]
        out = layer(tf.constant(x), initial_state=[tf.constant(h) for h in h0], training=False)
        return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]

    def randomize(model, rng, dtype):
        for layer in model.layers:
            ws = layer.get_weights()
            if ws:
                layer.set_weights([(rng.standard_normal(w.shape) * WSCALE).astype(dtype)
                                   for w in ws])

    def expected(layers, x, keep, h0, dtype):
        """NumPy reference for the layer chain; returns (final outputs list, per-layer)."""
        cur, k, per = np.asarray(x, np.float64), None, {}
        outs = None
        for layer in layers:
            cls = layer.__class__.__name__
            if cls == "Masking":
                k = np.any(cur != layer.mask_value, axis=-1)
                continue
            if cls == "GRU":
                cfg = layer.get_config()
                y, h = ref_gru(cur, layer.get_weights(), cfg, k,
                               None if h0 is None else h0[0])
                outs = [y, h] if cfg["return_state"] else [y]
                if not cfg["return_sequences"]:
                    k = None
            elif cls == "Bidirectional":
                fl, bl = layer.forward_layer, layer.backward_layer
                y, hf, hb = ref_bidi(cur, fl.get_weights(), bl.get_weights(), fl.get_config(),
                                     bl.get_config(), layer.merge_mode, k,
                                     (None, None) if h0 is None else h0,
                                     zero_output=bool(fl.zero_output_for_mask))
                outs = (y if isinstance(y, list) else [y]) + \
                    ([hf, hb] if fl.return_state else [])
                y = outs[0]
                if not fl.return_sequences:
                    k = None
            elif cls == "Dense":
                kern, bias = layer.get_weights()
                y = cur @ kern + bias
                outs = [y]
            else:
                raise ValueError(cls)
            per[layer.name] = y
            cur = y
        return outs, per

    entries = []
    for c in cases:
        keras.utils.clear_session()
        name, dtype = c["name"], c["dtype"]
        rng = rng_for(name)
        model = c["build"]()
        randomize(model, rng, dtype)
        x = rng.standard_normal((B, T, D)).astype(dtype)
        keep = None
        if c["masking"]:
            keep = mixed_keep()
            x[~keep] = MASK_VALUE
        h0 = None
        if c["h0"] == "gru":
            h0 = [(rng.standard_normal((B, U)) * 0.5).astype(dtype)]
        elif c["h0"] == "bidi":
            h0 = [(rng.standard_normal((B, U)) * 0.5).astype(dtype) for _ in range(2)]
        out = direct(model, c["h0"], x, h0) if h0 else predict(model, x)
        assert all(o.dtype == dtype for o in out), name

        # the NumPy reference must agree (hard_sigmoid = x/6+0.5, gelu exact, masks, flips)
        layers = [lay for lay in model.layers if lay.__class__.__name__ != "InputLayer"]
        ref, per_ref = expected(layers, x, keep, h0, dtype)
        assert len(ref) == len(out), (name, len(ref), len(out))
        for a, r in zip(out, ref):
            assert ref_close(a, r, dtype), f"{name}: differs from the NumPy reference"
        first = [lay for lay in layers if lay.__class__.__name__ != "Masking"][0]
        if first.__class__.__name__ == "GRU" and first.recurrent_activation is not None \
                and first.get_config()["recurrent_activation"] == "hard_sigmoid":
            # the data can tell the two definitions apart
            r2, _ = ref_gru(x, first.get_weights(), first.get_config(), keep,
                            None if h0 is None else h0[0], hard="keras2")
            assert not ref_close(out[0], r2, dtype), name + ": keras2 hard_sigmoid also fits"
        if name == "k3_activation_gelu_seq":
            cfg = dict(layers[0].get_config(), activation="gelu_tanh")
            r2, _ = ref_gru(x, layers[0].get_weights(), cfg)
            assert not ref_close(out[0], r2, dtype), "approximate gelu also fits"

        case_dir = out_dir / name
        case_dir.mkdir(parents=True)
        save_npy(case_dir, "x1.npy", x)
        call = {"input": "x1.npy", "output": None, "state": None, "mask": None,
                "initial_state": None}
        if h0 is not None:
            call["initial_state"] = (save_npy(case_dir, "h0_1.npy", h0[0]) if len(h0) == 1 else
                                     [save_npy(case_dir, "h0_fw_1.npy", h0[0]),
                                      save_npy(case_dir, "h0_bw_1.npy", h0[1])])
        top = layers[-1]
        top_cls = top.__class__.__name__
        rstate = (top.forward_layer.return_state if top_cls == "Bidirectional"
                  else top_cls == "GRU" and top.return_state)
        n_state = 2 if (rstate and top_cls == "Bidirectional") else (1 if rstate else 0)
        ys, hs = out[:len(out) - n_state], out[len(out) - n_state:]
        if len(ys) == 1:
            call["output"] = save_npy(case_dir, "y1.npy", ys[0])
        else:  # merge_mode=None
            call["output"] = [save_npy(case_dir, "y1_fw.npy", ys[0]),
                              save_npy(case_dir, "y1_bw.npy", ys[1])]
        if n_state == 2:
            call["state"] = [save_npy(case_dir, "h1_fw.npy", hs[0]),
                             save_npy(case_dir, "h1_bw.npy", hs[1])]
        elif n_state == 1:
            call["state"] = save_npy(case_dir, "h1.npy", hs[0])

        grus = [lay for lay in layers if lay.__class__.__name__ == "GRU"]
        single = len(grus) == 1 and len([lay for lay in layers
                                         if lay.__class__.__name__ not in ("Masking",)]) == 1
        if single and n_state == 0:  # the final state, from a return_state twin of the GRU
            twin = L.GRU.from_config(dict(grus[0].get_config(), return_state=True))
            twin.build((None, T, D))
            twin.set_weights(grus[0].get_weights())
            kw = {"training": False}
            if keep is not None:
                kw["mask"] = tf.constant(keep)
            if h0 is not None:
                kw["initial_state"] = [tf.constant(h0[0])]
            ty, th = twin(tf.constant(x), **kw)
            assert close(np.asarray(ty), ys[0], dtype), name + ": twin output differs"
            assert close(np.asarray(th), ref_gru(x, grus[0].get_weights(), grus[0].get_config(),
                                                 keep, None if h0 is None else h0[0])[1] * 1,
                         dtype, 1e-11 if dtype == f64 else 2e-5), name
            call["state"] = save_npy(case_dir, "h1.npy", np.asarray(th))

        # per-layer outputs (a --layer NAME run), with the input and the mask Keras carried in
        layer_outputs = None
        if c["probe"]:
            probe = keras.Model(model.inputs, [model.get_layer(n).output for n in c["probe"]])
            pouts = probe.predict(x, batch_size=B, verbose=0)
            pouts = pouts if isinstance(pouts, (list, tuple)) else [pouts]
            layer_outputs, prev_file, carried = [], "x1.npy", keep
            if keep is not None:
                save_npy(case_dir, "carried_mask1.npy", keep)
            for lname, po in zip(c["probe"], pouts):
                po = np.asarray(po)
                assert ref_close(po, per_ref[lname], dtype), (name, lname)
                lay = model.get_layer(lname)
                fname = save_npy(case_dir, f"y_{lname}.npy", po)
                entry = {"name": lname, "class_name": lay.__class__.__name__,
                         "input": prev_file,
                         "mask": "carried_mask1.npy" if carried is not None else None,
                         "output": fname}
                if lay.__class__.__name__ == "GRU":
                    entry["flags"] = gru_flags(lay.get_config(), "keras3", None, lname)
                layer_outputs.append(entry)
                prev_file = fname
                if lay.__class__.__name__ in ("GRU", "Bidirectional"):
                    inner = lay.forward_layer if hasattr(lay, "forward_layer") else lay
                    if not inner.return_sequences:
                        carried = None
            if c["probe"][-1] == layers[-1].name:
                assert close(pouts[-1], ys[0], dtype), name

        # save, reload, re-run
        files = {}
        if "keras" in c["files"]:
            files["keras"] = "model.keras"
            with reproducible_save():
                model.save(case_dir / "model.keras")
        if "weights_h5" in c["files"]:
            files["weights_h5"] = "model.weights.h5"
            model.save_weights(case_dir / "model.weights.h5")
        if "model" in c["files"]:
            files["model"] = "model.h5"
            model.save(case_dir / "model.h5")
        reloaded = []
        for kind, fname in files.items():
            if kind == "weights_h5":
                keras.utils.clear_session()
                m2 = c["build"]()
                m2.load_weights(case_dir / fname)
            else:
                m2 = keras.models.load_model(case_dir / fname)
            reloaded.append((fname, m2))
        for fname, m2 in reloaded:
            o2 = direct(m2, c["h0"], x, h0) if h0 else predict(m2, x)
            assert len(o2) == len(out) and all(close(a, b, dtype) for a, b in zip(o2, out)), \
                f"{name}: {fname} reloads to different numbers"

        with zipfile.ZipFile(case_dir / "model.keras") as z:
            saved_cfg = json.loads(z.read("config.json"))
            meta = json.loads(z.read("metadata.json"))
            assert z.namelist() == ["metadata.json", "config.json", "model.weights.h5"], name
            assert meta["keras_version"] == kv, name
        entry = {
            "name": name, "group": c["group"], "description": c["desc"], "source": "keras3",
            "keras_version": kv, "dtype": dtype, "files": files,
            "model_layers": model_layers_from_config(saved_cfg, lambda n: _get(model, n)),
            "layer": cfg_subset(grus[0].get_config()) if single else None,
            "mask_value": MASK_VALUE if c["masking"] else None,
            "flags": None, "calls": [call],
            "weights": None,
        }
        if single:
            names = ["kernel.npy", "recurrent_kernel.npy", "bias.npy"]
            for n, w in zip(names, grus[0].get_weights()):
                save_npy(case_dir, n, w)
            entry["weights"] = {"kernel": names[0], "recurrent_kernel": names[1],
                                "bias": names[2] if grus[0].use_bias else None}
        if "weights_h5" in files:
            if single:
                entry["flags"] = gru_flags(grus[0].get_config(), "keras3",
                                           MASK_VALUE if c["masking"] else None)
            elif top_cls == "Bidirectional" and len(layers) <= 2 and top.merge_mode == "concat":
                entry["flags"] = gru_flags(top.forward_layer.get_config(), "keras3",
                                           MASK_VALUE if c["masking"] else None)
        if layer_outputs:
            entry["layer_outputs"] = layer_outputs
        entries.append(entry)
        print("wrote", name)

    generator = {"tensorflow": tf.__version__, "keras": kv, "numpy": np.__version__,
                 "h5py": h5py.__version__, "KERAS_BACKEND": "tensorflow"}
    write_manifest(out_dir, generator, entries)
    for n in ["k3_stack_gru_bidi_mask"]:
        print(f"== {n}/model.weights.h5\n" + h5_tree(out_dir / n / "model.weights.h5"))
        print(f"== {n}/model.h5\n" + h5_tree(out_dir / n / "model.h5"))


def _get(model, name):
    try:
        return model.get_layer(name)
    except ValueError:
        return None


# ============================================================================ weights-only defaults part
DEFAULTS_SHAPE = (3, 7, 5, 16)  # batch, steps, features, units


def keras3_defaults_part(out_dir):
    """Keras 3 model.save_weights("model.weights.h5") of GRU(16) with Keras 3's defaults (sigmoid,
    reset_after=True), of Bidirectional(GRU(16)), and of GRU(16, reset_after=False) (a (3U,) bias with the
    default sigmoid). gru-run reads them with no flags; the seed's defaults (hard_sigmoid) must not fit."""
    assert os.environ.get("TF_USE_LEGACY_KERAS") is None, "unset TF_USE_LEGACY_KERAS for Keras 3"
    assert os.environ.get("KERAS_BACKEND") == "tensorflow"
    import h5py
    import keras
    import tensorflow as tf
    assert keras.__version__.startswith("3.") and keras.backend.backend() == "tensorflow"
    tf.get_logger().setLevel("ERROR")
    L = keras.layers
    b, t, d, u = DEFAULTS_SHAPE
    specs = [
        ("k3_gru16", "keras.layers.GRU(16), its defaults", lambda **kw: L.GRU(u, **kw)),
        ("k3_bidi16", "Bidirectional(keras.layers.GRU(16)), their defaults (merge_mode concat)",
         lambda **kw: L.Bidirectional(L.GRU(u, **kw))),
        ("k3_ra0_gru16", "keras.layers.GRU(16, reset_after=False): a (3U,) bias, recurrent_activation still "
         "the default sigmoid", lambda **kw: L.GRU(u, reset_after=False, **kw)),
    ]
    entries = []
    for name, description, make in specs:
        keras.utils.clear_session()
        rng = rng_for(name)
        model = keras.Sequential([keras.Input(shape=(t, d)), make()])
        layer = model.layers[-1]
        weights = [(rng.standard_normal(w.shape) * WSCALE).astype("float32") for w in layer.get_weights()]
        layer.set_weights(weights)
        x = rng.standard_normal((b, t, d)).astype("float32")
        y = model.predict(x, batch_size=b, verbose=0)
        inp = keras.Input(shape=(t, d))  # the final state(s), from a twin that returns them
        twin = keras.Model(inp, make(return_state=True)(inp))
        twin.layers[-1].set_weights(weights)
        ty, *states = twin.predict(x, batch_size=b, verbose=0)
        assert close(ty, y, "float32"), name
        h = states[0] if len(states) == 1 else np.stack(states)
        bidirectional = hasattr(layer, "forward_layer")
        inner = layer.forward_layer if bidirectional else layer
        cfg = inner.get_config()
        seed_cfg = dict(cfg, recurrent_activation="hard_sigmoid")
        if bidirectional:
            fw, bw = layer.forward_layer, layer.backward_layer
            ref, hf, hb = ref_bidi(x, fw.get_weights(), bw.get_weights(), cfg, bw.get_config(), layer.merge_mode)
            ref_h = np.stack([hf, hb])
            seed, _, _ = ref_bidi(x, fw.get_weights(), bw.get_weights(), seed_cfg,
                                  dict(bw.get_config(), recurrent_activation="hard_sigmoid"), layer.merge_mode,
                                  hard="keras2")
        else:
            ref, ref_h = ref_gru(x, weights, cfg)
            seed, _ = ref_gru(x, weights, seed_cfg, hard="keras2")
        assert ref_close(y, ref, "float32") and ref_close(h, ref_h, "float32"), name + ": differs from NumPy"
        assert np.max(np.abs(seed - y)) > 1e-3, name + ": the seed's defaults fit too"
        case_dir = out_dir / name
        case_dir.mkdir()
        model.save_weights(case_dir / "model.weights.h5")
        keras.utils.clear_session()
        again = keras.Sequential([keras.Input(shape=(t, d)), make()])
        again.load_weights(case_dir / "model.weights.h5")
        assert close(again.predict(x, batch_size=b, verbose=0), y, "float32"), name + ": reloads differently"
        with h5py.File(case_dir / "model.weights.h5", "r") as f:
            assert "layers" in f and "layer_names" not in f.attrs, name
        for file_name, arr in [("x.npy", x), ("y.npy", y), ("h.npy", h)]:
            save_npy(case_dir, file_name, arr)
        entries.append({
            "name": name, "group": "defaults", "description": description, "source": "keras3",
            "keras_version": keras.__version__,
            "dtype": "float32", "class_name": layer.__class__.__name__,
            "merge_mode": getattr(layer, "merge_mode", None),
            "layer": cfg_subset(cfg), "files": ["model.weights.h5"], "layouts": {"model.weights.h5": "layers"},
            "calls": [{"input": "x.npy", "output": "y.npy", "state": "h.npy"}],
        })
        print("wrote", name)
    generator = {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__,
                 "h5py": h5py.__version__, "KERAS_BACKEND": "tensorflow"}
    write_manifest(out_dir, generator, entries)


# ============================================================================ legacy part
def legacy_part(out_dir):
    assert os.environ.get("TF_USE_LEGACY_KERAS") == "1"
    import h5py
    import tensorflow as tf
    import tf_keras
    from tf_keras.src.layers.rnn import gru_v1
    from tf_keras.src.layers.rnn.cudnn_gru import CuDNNGRU
    from tf_keras.src.saving.legacy import hdf5_format
    sys.path.insert(0, str(HERE))
    import make_fixtures  # noqa: E402  (only to confirm the mask pattern is the same)
    assert np.array_equal(make_fixtures.keep_pattern("mixed", B, T, None), mixed_keep())
    kv = tf_keras.__version__
    L = tf_keras.layers
    tf.get_logger().setLevel("ERROR")
    entries = []

    def randomize(model, rng, dtype="float32"):
        for layer in model.layers:
            ws = layer.get_weights()
            if ws:
                layer.set_weights([(rng.standard_normal(w.shape) * WSCALE).astype(dtype)
                                   for w in ws])

    def predict(model, x):
        out = model.predict(x, batch_size=len(x), verbose=0)
        return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]

    def inputs(name, masking):
        rng = rng_for(name)
        x = rng.standard_normal((B, T, D)).astype("float32")
        keep = None
        if masking:
            keep = mixed_keep()
            x[~keep] = MASK_VALUE
        return rng, x, keep

    def live_getter(model):
        return lambda n: _get(model, n)

    def final_state(cfg, weights, x, keep):
        """Final state from a gru_v1 twin with return_state=True (same weights)."""
        twin = gru_v1.GRU.from_config(dict(cfg, return_state=True))
        kw = {"training": False}
        if keep is not None:
            kw["mask"] = tf.constant(keep)
        twin(tf.constant(x[:1]))
        twin.set_weights(weights)
        y, h = twin(tf.constant(x), **kw)
        return np.asarray(y), np.asarray(h)

    def reload_check(name, model_path, weights_path, build, x, out, custom=None):
        if model_path is not None:
            m2 = tf_keras.models.load_model(model_path, custom_objects=custom, compile=False)
            assert all(close(a, b, "float32") for a, b in zip(predict(m2, x), out)), \
                f"{name}: {model_path.name} reloads to different numbers"
        if weights_path is not None:
            tf_keras.backend.clear_session()
            m3 = build()
            m3.load_weights(weights_path)
            assert all(close(a, b, "float32") for a, b in zip(predict(m3, x), out)), \
                f"{name}: {weights_path.name} reloads to different numbers"

    def entry(name, group, desc, source, files, model_layers, layer_cfg, masking, flags, call,
              weights=None, keras_version=kv, **extra):
        e = {"name": name, "group": group, "description": desc, "source": source,
             "keras_version": keras_version, "dtype": "float32", "files": files,
             "model_layers": model_layers, "layer": layer_cfg,
             "mask_value": MASK_VALUE if masking else None, "flags": flags, "calls": [call],
             "weights": weights}
        e.update(extra)
        entries.append(e)
        print("wrote", name)

    def save_weights_npy(case_dir, ws, use_bias=True):
        names = ["kernel.npy", "recurrent_kernel.npy", "bias.npy"]
        for n, w in zip(names, ws):
            save_npy(case_dir, n, w)
        return {"kernel": names[0], "recurrent_kernel": names[1],
                "bias": names[2] if use_bias else None}

    def call_files(case_dir, x, y, h=None):
        return {"input": save_npy(case_dir, "x1.npy", x), "output": save_npy(case_dir, "y1.npy", y),
                "state": None if h is None else save_npy(case_dir, "h1.npy", h),
                "mask": None, "initial_state": None}

    # ------------------------------------------------------------ 7. tf-keras Bidirectional
    for name, merge, rs, masking in [("tfk_bidi_concat_seq", "concat", True, False),
                                     ("tfk_bidi_ave_seq_mask", "ave", True, True),
                                     ("tfk_bidi_sum_last", "sum", False, False)]:
        def build(merge=merge, rs=rs, masking=masking):
            layers = [tf_keras.Input(shape=(T, D), name="input")]
            if masking:
                layers.append(L.Masking(MASK_VALUE, name="masking"))
            layers.append(L.Bidirectional(gru_v1.GRU(U, return_sequences=rs), merge_mode=merge))
            return tf_keras.Sequential(layers, name="model")
        tf_keras.backend.clear_session()
        rng, x, keep = inputs(name, masking)
        model = build()
        randomize(model, rng)
        out = predict(model, x)
        bl = model.layers[-1]
        fl, bk = bl.forward_layer, bl.backward_layer
        ref, _, _ = ref_bidi(x, fl.get_weights(), bk.get_weights(), fl.get_config(),
                             bk.get_config(), merge, keep, zero_output=rs, hard="keras2")
        assert ref_close(out[0], ref, "float32"), name
        case_dir = out_dir / name
        case_dir.mkdir(parents=True)
        model.save(case_dir / "model.h5")
        files = {"model": "model.h5"}
        if merge != "sum":
            model.save_weights(case_dir / "weights.h5")
            files["weights"] = "weights.h5"
        reload_check(name, case_dir / "model.h5",
                     case_dir / "weights.h5" if "weights" in files else None, build, x, out)
        with h5py.File(case_dir / "model.h5", "r") as f:
            mc = json.loads(f.attrs["model_config"])
        entry(name, "tfkeras_bidirectional",
              f"tf-keras Bidirectional(gru_v1.GRU) merge_mode={merge}"
              + (", Masking" if masking else "") + ("" if rs else ", last output"),
              "tfkeras", files, model_layers_from_config(mc, live_getter(model)), None, masking,
              gru_flags(fl.get_config(), "keras2", MASK_VALUE if masking else None)
              if "weights" in files and merge == "concat" else None,
              call_files(case_dir, x, out[0]))

    # ------------------------------------------------------------ 7. tf-keras stack + masking
    name = "tfk_stack_masking_2gru"

    def build_stack():
        return tf_keras.Sequential([tf_keras.Input(shape=(T, D), name="input"),
                                    L.Masking(MASK_VALUE, name="masking"),
                                    gru_v1.GRU(U, return_sequences=True),
                                    gru_v1.GRU(U, reset_after=True)], name="model")
    tf_keras.backend.clear_session()
    rng, x, keep = inputs(name, True)
    model = build_stack()
    randomize(model, rng)
    out = predict(model, x)
    g1, g2 = model.layers[1], model.layers[2]
    assert (g1.name, g2.name) == ("gru", "gru_1"), (g1.name, g2.name)
    y1_ref, _ = ref_gru(x, g1.get_weights(), g1.get_config(), keep, hard="keras2")
    y2_ref, h2_ref = ref_gru(y1_ref, g2.get_weights(), g2.get_config(), keep, hard="keras2")
    assert ref_close(out[0], y2_ref, "float32"), name
    probe = tf_keras.Model(model.inputs, [g1.output, g2.output])
    p1, p2 = (np.asarray(a) for a in probe.predict(x, batch_size=B, verbose=0))
    assert ref_close(p1, y1_ref, "float32") and close(p2, out[0], "float32"), name
    case_dir = out_dir / name
    case_dir.mkdir(parents=True)
    model.save(case_dir / "model.h5")
    model.save_weights(case_dir / "weights.h5")
    reload_check(name, case_dir / "model.h5", case_dir / "weights.h5", build_stack, x, out)
    with h5py.File(case_dir / "model.h5", "r") as f:
        mc = json.loads(f.attrs["model_config"])
    save_npy(case_dir, "carried_mask1.npy", keep)
    lo = [{"name": "gru", "class_name": "GRU", "input": "x1.npy", "mask": "carried_mask1.npy",
           "output": save_npy(case_dir, "y_gru.npy", p1),
           "flags": gru_flags(g1.get_config(), "keras2", None, "gru")},
          {"name": "gru_1", "class_name": "GRU", "input": "y_gru.npy",
           "mask": "carried_mask1.npy", "output": save_npy(case_dir, "y_gru_1.npy", p2),
           "flags": gru_flags(g2.get_config(), "keras2", None, "gru_1")}]
    entry(name, "tfkeras_stack", "tf-keras Masking -> gru_v1.GRU 'gru' (sequences) -> "
          "gru_v1.GRU 'gru_1' (reset_after=True, last); mask carried between the GRUs",
          "tfkeras", {"model": "model.h5", "weights": "weights.h5"},
          model_layers_from_config(mc, live_getter(model)), None, True, None,
          call_files(case_dir, x, out[0]), layer_outputs=lo)

    # ------------------------------------------------------------ 8. split layer_names
    name = "tfk_split_layer_names"
    n_before, n_after, name_len = 20, 20, 3500

    def ident(i):
        stem = f"identity_{i:03d}_"
        return L.Activation("linear", name=stem + "n" * (name_len - len(stem)))

    def build_many():
        return tf_keras.Sequential(
            [tf_keras.Input(shape=(T, D), name="input")]
            + [ident(i) for i in range(n_before)]
            + [gru_v1.GRU(U, return_sequences=True, name="gru")]
            + [ident(n_before + i) for i in range(n_after)], name="model")
    tf_keras.backend.clear_session()
    rng, x, keep = inputs(name, False)
    model = build_many()
    randomize(model, rng)
    out = predict(model, x)
    gl = model.get_layer("gru")
    yr, hr = ref_gru(x, gl.get_weights(), gl.get_config(), hard="keras2")
    assert ref_close(out[0], yr, "float32"), name
    _, h = final_state(gl.get_config(), gl.get_weights(), x, None)
    case_dir = out_dir / name
    case_dir.mkdir(parents=True)
    model.save(case_dir / "model.h5")
    model.save_weights(case_dir / "weights.h5")
    reload_check(name, case_dir / "model.h5", case_dir / "weights.h5", build_many, x, out)
    names = [lay.name.encode() for lay in model.layers]
    nbytes = np.asarray(names).nbytes
    chunks = np.array_split(np.asarray(names), 3)  # what save_attributes_to_hdf5_group picks
    assert nbytes > hdf5_format.HDF5_OBJECT_HEADER_LIMIT and \
        all(c_.nbytes <= hdf5_format.HDF5_OBJECT_HEADER_LIMIT for c_ in chunks) and \
        np.array_split(np.asarray(names), 2)[0].nbytes > hdf5_format.HDF5_OBJECT_HEADER_LIMIT
    for fname, grp in [("model.h5", "model_weights"), ("weights.h5", None)]:
        with h5py.File(case_dir / fname, "r") as f:
            g = f[grp] if grp else f
            assert "layer_names" not in g.attrs, fname
            got = [g.attrs[f"layer_names{i}"] for i in range(3)]
            assert f"layer_names3" not in g.attrs
            assert [list(a) for a in got] == [list(c_) for c_ in chunks], fname
            assert names.index(b"gru") in range(len(got[0]), len(got[0]) + len(got[1]))
            kinds = h5_string_kinds(case_dir / fname)
            assert kinds[f"{g.name}@layer_names0".replace("//", "/")].startswith("fixed["), kinds
    with h5py.File(case_dir / "model.h5", "r") as f:
        mc = json.loads(f.attrs["model_config"])
    entry(name, "split_attributes",
          f"gru_v1.GRU 'gru' between {n_before}+{n_after} Activation('linear') layers with "
          f"{name_len}-character names: layer_names ({nbytes} bytes) is stored as fixed-length "
          "chunks layer_names0..2; 'gru' is in layer_names1",
          "tfkeras", {"model": "model.h5", "weights": "weights.h5"},
          model_layers_from_config(mc, live_getter(model)), cfg_subset(gl.get_config()), False,
          gru_flags(gl.get_config(), "keras2", None, "gru"), call_files(case_dir, x, out[0], h),
          save_weights_npy(case_dir, gl.get_weights()))

    # ------------------------------------------------------------ 9. subclassed-model prefix
    name = "tfk_subclassed_prefix"

    class MyModel(tf_keras.Model):
        def __init__(self):
            super().__init__(name="my_model")
            self.gru = gru_v1.GRU(U, return_sequences=True, name="gru")

        def call(self, inputs):
            return self.gru(inputs)
    tf_keras.backend.clear_session()
    rng, x, _ = inputs(name, False)
    model = MyModel()
    model(tf.constant(x[:1]))
    randomize(model, rng)
    y = np.asarray(model(tf.constant(x), training=False))
    gl = model.gru
    assert [w.name for w in gl.weights] == ["my_model/gru/gru_cell/kernel:0",
                                            "my_model/gru/gru_cell/recurrent_kernel:0",
                                            "my_model/gru/gru_cell/bias:0"]
    yr, _ = ref_gru(x, gl.get_weights(), gl.get_config(), hard="keras2")
    assert ref_close(y, yr, "float32"), name
    _, h = final_state(gl.get_config(), gl.get_weights(), x, None)
    case_dir = out_dir / name
    case_dir.mkdir(parents=True)
    model.save_weights(case_dir / "weights.h5")
    m2 = MyModel()
    m2(tf.constant(x[:1]))
    m2.load_weights(case_dir / "weights.h5")
    assert close(np.asarray(m2(tf.constant(x))), y, "float32"), name
    with h5py.File(case_dir / "weights.h5", "r") as f:
        assert "gru/my_model/gru/gru_cell/kernel:0" in f, name
    entry(name, "subclassed", "save_weights() of a subclassed tf-keras model 'my_model' "
          "holding gru_v1.GRU 'gru': weight names my_model/gru/gru_cell/kernel:0 ...",
          "tfkeras", {"weights": "weights.h5"},
          [{"name": "gru", "class_name": "GRU", "config": cfg_subset(gl.get_config())}],
          cfg_subset(gl.get_config()), False, gru_flags(gl.get_config(), "keras2"),
          call_files(case_dir, x, y, h), save_weights_npy(case_dir, gl.get_weights()))

    # ------------------------------------------------------------ 9. Keras 2.1-style files
    K21 = "2.1.6"

    def fixed(s):
        return np.bytes_(s.encode() if isinstance(s, str) else s)

    def k21_init(cls, **cfg):
        return {"class_name": cls, "config": cfg}

    def k21_gru_config(name, rs, go_backwards=False, first=False, cudnn=False):
        c = {"name": name, "trainable": True}
        if first:
            c.update(batch_input_shape=[None, T, D], dtype="float32")
        c.update(return_sequences=rs, return_state=False)
        if not cudnn:
            c.update(go_backwards=go_backwards)
        c.update(stateful=False)
        if not cudnn:
            c.update(unroll=False)
        c.update(units=U)
        if not cudnn:
            c.update(activation="tanh", recurrent_activation="hard_sigmoid", use_bias=True)
        c.update(kernel_initializer=k21_init("VarianceScaling", scale=1.0, mode="fan_avg",
                                             distribution="uniform", seed=None),
                 recurrent_initializer=k21_init("Orthogonal", gain=1.0, seed=None),
                 bias_initializer=k21_init("Zeros"),
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None)
        if not cudnn:
            c.update(dropout=0.0, recurrent_dropout=0.0, implementation=1)
        return {"class_name": "CuDNNGRU" if cudnn else "GRU", "config": c}

    def write_k21(path, layers, model_config=None):
        """layers: [(layer_name, [(weight_name, array)])]. Fixed-length strings throughout;
        model_config present = whole-model file (weights under /model_weights)."""
        with h5py.File(path, "w") as f:
            if model_config is not None:
                f.attrs["keras_version"] = fixed(K21)
                f.attrs["backend"] = fixed("tensorflow")
                f.attrs["model_config"] = fixed(json.dumps(model_config))
                g = f.create_group("model_weights")
            else:
                g = f
            g.attrs["layer_names"] = np.array([n.encode() for n, _ in layers])
            g.attrs["backend"] = fixed("tensorflow")
            g.attrs["keras_version"] = fixed(K21)
            for lname, ws in layers:
                lg = g.create_group(lname)
                lg.attrs["weight_names"] = (np.array([wn.encode() for wn, _ in ws]) if ws
                                            else [])  # Keras wrote [] (an empty float array)
                for wn, arr in ws:
                    lg.create_dataset(wn, data=arr)
        for k, v in h5_string_kinds(path).items():
            assert v.startswith("fixed[") or (k.endswith("@weight_names") and v == "float64"), \
                (path, k, v)

    seed_defaults = dict(activation="tanh", recurrent_activation="hard_sigmoid",
                         reset_after=False, implementation=1)
    for name, rs, masking, with_weights in [("k21_gru_last", False, False, True),
                                            ("k21_masking_gru_seq", True, True, False)]:
        def build_seed(rs=rs, masking=masking):
            layers = [tf_keras.Input(shape=(T, D), name="input")]
            if masking:
                layers.append(L.Masking(MASK_VALUE, name="masking_1"))
            layers.append(gru_v1.GRU(U, return_sequences=rs, name="gru_1", **seed_defaults))
            return tf_keras.Sequential(layers, name="sequential_1")
        tf_keras.backend.clear_session()
        rng, x, keep = inputs(name, masking)
        model = build_seed()
        randomize(model, rng)
        out = predict(model, x)
        gl = model.get_layer("gru_1")
        yr, hr = ref_gru(x, gl.get_weights(), gl.get_config(), keep, hard="keras2")
        assert ref_close(out[0], yr, "float32"), name
        _, h = final_state(gl.get_config(), gl.get_weights(), x, keep)
        layer_cfgs = []
        if masking:
            layer_cfgs.append({"class_name": "Masking", "config": {
                "name": "masking_1", "trainable": True, "batch_input_shape": [None, T, D],
                "dtype": "float32", "mask_value": MASK_VALUE}})
        layer_cfgs.append(k21_gru_config("gru_1", rs, first=not masking))
        mc = {"class_name": "Sequential", "config": layer_cfgs}
        wl = [(n, [(f"gru_1/{w}:0", a) for w, a in
                   zip(["kernel", "recurrent_kernel", "bias"], gl.get_weights())])
              for n in ["gru_1"]]
        layers = ([("masking_1", [])] if masking else []) + wl
        case_dir = out_dir / name
        case_dir.mkdir(parents=True)
        write_k21(case_dir / "model.h5", layers, mc)
        files = {"model": "model.h5"}
        if with_weights:
            write_k21(case_dir / "weights.h5", layers)
            files["weights"] = "weights.h5"
        # tf-keras reads these files: the config (GRU = the seed layer) and the weights
        reload_check(name, case_dir / "model.h5",
                     case_dir / "weights.h5" if with_weights else None, build_seed, x, out,
                     custom={"GRU": gru_v1.GRU})
        entry(name, "keras21", "HDF5 written with h5py in the Keras 2.1 layout: keras_version "
              "2.1.6, fixed-length string attributes, Sequential config as a bare list of "
              "layers, GRU config without reset_after (defaults apply: reset_after=False), "
              "weight names gru_1/kernel:0 (no gru_cell); numbers from tf-keras gru_v1.GRU",
              "h5py-built", files, model_layers_from_config(mc, live_getter(model)),
              cfg_subset(gl.get_config()), masking,
              gru_flags(gl.get_config(), "keras2", MASK_VALUE if masking else None)
              if with_weights else None,
              call_files(case_dir, x, out[0], h), save_weights_npy(case_dir, gl.get_weights()),
              keras_version=K21)

    # ------------------------------------------------------------ 10. CuDNNGRU
    def gru_to_cudnn(kernel, rec, bias):
        """Inverse of _convert_rnn_weights(from_cudnn=True) for GRU: per gate, the input
        kernel block (D,U) is stored as the C-order bytes of its transpose (U,D) reshaped to
        (D,U); recurrent blocks are transposed; the (2,3U) bias is flattened to (6U,)."""
        k = np.hstack([blk.T.reshape(blk.shape, order="C") for blk in np.hsplit(kernel, 3)])
        r = np.hstack([blk.T for blk in np.hsplit(rec, 3)])
        return [np.ascontiguousarray(k), np.ascontiguousarray(r), bias.reshape(-1).copy()]

    for name, rs, writer in [("cudnn_gru_seq", True, "h5py"), ("cudnn_gru_tfkeras_last", False,
                                                              "tfkeras")]:
        lname = "cu_dnngru_1"
        ra1 = dict(reset_after=True, recurrent_activation="sigmoid")

        def build_ra1(rs=rs):
            return tf_keras.Sequential([tf_keras.Input(shape=(T, D), name="input"),
                                        gru_v1.GRU(U, return_sequences=rs, name=lname, **ra1)],
                                       name="sequential_1")
        tf_keras.backend.clear_session()
        rng, x, _ = inputs(name, False)
        model = build_ra1()
        randomize(model, rng)
        out = predict(model, x)
        gl = model.get_layer(lname)
        orig = gl.get_weights()
        yr, _ = ref_gru(x, orig, gl.get_config())
        assert ref_close(out[0], yr, "float32"), name
        _, h = final_state(gl.get_config(), orig, x, None)
        cud = gru_to_cudnn(*orig)
        assert cud[2].shape == (6 * U,) and cud[0].shape == (D, 3 * U)
        # tf-keras's own converter: CuDNN -> GRU(reset_after=True) gives the originals back,
        # and GRU -> CuDNNGRU gives exactly our arrays
        back = hdf5_format._convert_rnn_weights(gl, [a.copy() for a in cud])
        assert all(np.array_equal(a, b) for a, b in zip(back, orig)), name
        cudnn_layer = CuDNNGRU(U, name="probe")
        fwd = hdf5_format._convert_rnn_weights(cudnn_layer, [a.copy() for a in orig])
        assert all(np.array_equal(a, b) for a, b in zip(fwd, cud)), name
        assert not np.array_equal(cud[0], orig[0])
        case_dir = out_dir / name
        case_dir.mkdir(parents=True)
        if writer == "h5py":
            mc = {"class_name": "Sequential",
                  "config": [k21_gru_config(lname, rs, first=True, cudnn=True)]}
            layers = [(lname, [(f"{lname}/{w}:0", a) for w, a in
                               zip(["kernel", "recurrent_kernel", "bias"], cud)])]
            write_k21(case_dir / "model.h5", layers, mc)
            write_k21(case_dir / "weights.h5", layers)
            source, kver = "h5py-built", K21
        else:  # a real tf-keras CuDNNGRU model (it builds and saves on CPU; it cannot run there)
            tf_keras.backend.clear_session()
            cm = tf_keras.Sequential([tf_keras.Input(shape=(T, D), name="input"),
                                      CuDNNGRU(U, return_sequences=rs, name=lname)],
                                     name="sequential_1")
            cm.layers[0].set_weights(cud)
            cm.save(case_dir / "model.h5")
            cm.save_weights(case_dir / "weights.h5")
            with h5py.File(case_dir / "model.h5", "r") as f:
                mc = json.loads(f.attrs["model_config"])
            source, kver = "tfkeras", kv
        # loading either file into GRU(reset_after=True) goes through preprocess_weights_for_
        # loading -> _convert_rnn_weights and must reproduce the original weights and numbers
        for fname in ("model.h5", "weights.h5"):
            tf_keras.backend.clear_session()
            m3 = build_ra1()
            m3.load_weights(case_dir / fname)
            assert all(np.array_equal(a, b) for a, b in
                       zip(m3.get_layer(lname).get_weights(), orig)), (name, fname)
            assert close(predict(m3, x)[0], out[0], "float32"), (name, fname)
        tf_keras.backend.clear_session()
        cm2 = tf_keras.models.load_model(case_dir / "model.h5", compile=False)
        assert cm2.layers[-1].__class__.__name__ == "CuDNNGRU"
        assert all(np.array_equal(a, b) for a, b in zip(cm2.layers[-1].get_weights(), cud))
        layer_cfg = cfg_subset(gl.get_config())
        entry(name, "cudnn", ("HDF5 written with h5py in the Keras 2.1 layout" if writer == "h5py"
                              else "tf-keras model.save() of a CuDNNGRU model")
              + f" holding a CuDNNGRU '{lname}' (kernel, recurrent_kernel, bias (6U,) in the "
              "cuDNN layout); numbers from tf-keras GRU(reset_after=True, "
              "recurrent_activation='sigmoid') with the weights in weights/*.npy (GRU layout)",
              source, {"model": "model.h5", "weights": "weights.h5"},
              [dict(e_, config=layer_cfg) if e_["class_name"] == "CuDNNGRU" else e_
               for e_ in model_layers_from_config(mc)],  # config: the equivalent GRU
              layer_cfg, False, gru_flags(layer_cfg, "keras2"),
              call_files(case_dir, x, out[0], h), save_weights_npy(case_dir, orig),
              keras_version=kver)

    generator = {"tensorflow": tf.__version__, "tf_keras": kv, "numpy": np.__version__,
                 "h5py": h5py.__version__, "TF_USE_LEGACY_KERAS": "1"}
    write_manifest(out_dir, generator, entries)
    for n in ["k21_gru_last"]:
        print(f"== {n}/model.h5\n" + h5_tree(out_dir / n / "model.h5"))
        for k, v in h5_string_kinds(out_dir / n / "model.h5").items():
            print(f"  {k}: {v}")


# ============================================================================ main
def check_versions():
    pins = dict(line.strip().split("==") for line in PINS.read_text().splitlines()
                if "==" in line)
    have = {k: importlib.metadata.version(k) for k in pins}
    bad = {k: (have[k], v) for k, v in pins.items() if have[k] != v}
    if bad:
        sys.exit(f"installed versions differ from {PINS.name}: {bad}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="replace existing outputs")
    ap.add_argument("--root", type=Path, default=HERE.parent, help="repository root")
    parts = {"keras3": keras3_part, "legacy": legacy_part, "keras3_defaults": keras3_defaults_part}
    ap.add_argument("--only", choices=list(parts), action="append",
                    help="make only these parts (default: all)")
    ap.add_argument("--part", choices=list(parts), help=argparse.SUPPRESS)
    args = ap.parse_args()
    out = {part: args.root / "Fixtures" / part for part in parts}
    if args.part:  # child process
        out[args.part].mkdir(parents=True)
        parts[args.part](out[args.part])
        return
    check_versions()
    chosen = args.only or list(parts)
    existing = [out[p] for p in chosen if out[p].exists()]
    if existing and not args.force:
        sys.exit("refusing to overwrite (use --force): " + ", ".join(map(str, existing)))
    for p in existing:
        shutil.rmtree(p)
    for part in chosen:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0")
        if part != "legacy":
            env.pop("TF_USE_LEGACY_KERAS", None)
            env["KERAS_BACKEND"] = "tensorflow"
        else:
            env["TF_USE_LEGACY_KERAS"] = "1"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--part", part,
               "--root", str(args.root)]
        if subprocess.run(cmd, env=env).returncode != 0:
            shutil.rmtree(out[part], ignore_errors=True)
            sys.exit(f"the {part} part failed; its partial output was removed")


if __name__ == "__main__":
    main()

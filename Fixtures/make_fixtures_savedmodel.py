#!/usr/bin/env python3
"""Reference data for gru-run reading TensorFlow SavedModel folders written by tf.keras 2.x / tf-keras.

Writes Fixtures/savedmodel/<case>/ for every case below, and Fixtures/savedmodel/manifest.json:
  model/        `model.save(dir, save_format="tf")` of tf-keras 2.21 (saved_model.pb, keras_metadata.pb,
                variables/variables.index, variables/variables.data-00000-of-00001)
  x.npy ...     the inputs (x0.npy, x1.npy, ... for several), y.npy ... `model.predict`'s outputs
  through_NAME.npy   `keras.Model(m.inputs, m.get_layer(NAME).output).predict(x)` for the layers listed
  model.h5      for a few cases: the same model saved as .h5, so that `inspect` of both can be compared

Cases: the GRU option grid (reset_after, activations, use_bias, go_backwards, return_sequences,
return_state, the seed layer gru_v1.GRU with hard_sigmoid, Bidirectional merge modes, float64), and
make_fixtures_models.py's tf-keras cases (FROM_MODELS) so that every layer kind they hold, a wrapper's inner
layer included, is in a folder, in float64 too wherever that script has a float64 case holding it. The two
CuDNNLSTM cases save the CuDNNLSTM model (tf-keras builds and saves it on a CPU but cannot run it) and take y
from its LSTM twin, as make_fixtures_models.py does.

Most folders are saved with save_traces=False: the config and checkpoint are the same, and saved_model.pb
holds no traced functions (40 KB instead of 2 MB). `sm_traced_gru` keeps the default traces, so that the
reader is seen to skip a real graph. Two special folders:
  sm_sharded          the checkpoint written in three shards (SaveOptions' MaxShardSizePolicy, 300 bytes)
  sm_legacy_metadata  keras_metadata.pb removed and its metadata moved into the SavedUserObject.metadata
                      fields of saved_model.pb, which is how TF 2.0-2.4 wrote it (tf-keras reloads it)
  sm_no_keras         a tf.Module with a tf.function saved by tf.saved_model.save: no Keras model at all
  sm_keras3_export    Keras 3.15.1 `model.export(dir)` of a Sequential GRU: a TensorFlow graph, no Keras metadata
  sm_subclassed       a subclassed tf-keras Model holding a GRU: Keras metadata, but no layer config

Usage: python Fixtures/make_fixtures_savedmodel.py [--force] [--refusals]   (pins: requirements-keras3.txt)
--refusals remakes only the last three folders (the folders gru-run refuses); --only NAME (repeatable)
remakes only the named cases and updates their manifest entries.
"""
import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

if "--keras3-export" not in sys.argv:
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["PYTHONHASHSEED"] = "0"

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "savedmodel"
spec = importlib.util.spec_from_file_location("models", HERE / "make_fixtures_models.py")
models = importlib.util.module_from_spec(spec)
spec.loader.exec_module(models)
T, D, WSCALE = models.T, models.D, models.WSCALE

# (base, dtype) of make_fixtures_models.py's cases, saved as SavedModel; model.h5 kept for those in H5.
# Only cases of its "tfkeras" part: a SavedModel folder is tf-keras's format.
FROM_MODELS = [
    ("gru_dense1", "float32"), ("gru_softmax", "float32"), ("embed_mask_gru", "float32"),
    ("embed_mask_bidi_gap", "float32"), ("masking_gru_gap", "float32"), ("embed_gru_td", "float32"),
    ("stacked_noise", "float32"), ("layer_prelu", "float32"), ("batchnorm", "float32"),
    ("layernorm", "float32"), ("conv_causal_d2_maxpool_same", "float32"),
    ("conv_causal_d2_maxpool_same", "float64"), ("merge_add", "float64"), ("concat_inputs", "float32"),
    ("two_outputs", "float32"), ("initial_state", "float32"), ("bidi_state", "float32"),
    ("gru_options", "float32"), ("cnn_gru", "float32"), ("nested_siamese", "float32"),
    ("nested_seq", "float32"), ("nested_enc_dec", "float32"), ("nested_masked", "float32"),
]
# Every other layer kind gru-run runs, in float64 too wherever make_fixtures_models.py has a float64 case.
FROM_MODELS += [(base, "float32") for base in [
    # Dense activations and activation layers (hard_sigmoid as Keras 2 defines it)
    "dense_hard_sigmoid", "dense_gelu", "dense_elu", "activation_objects", "layer_activation",
    "layer_softmax_axis1", "layer_relu_params", "layer_leakyrelu", "layer_elu",
    # LSTM, Bidirectional(LSTM) in every merge mode, CuDNNLSTM, SimpleRNN, RNN over cells
    "lstm_stack", "lstm_gru_mix", "lstm_bn_gru", "lstm_masked", "lstm_embed_mask", "lstm_state",
    "lstm_initial_input", "bidi_lstm_concat", "bidi_lstm_sum", "bidi_lstm_mul", "bidi_lstm_ave", "bidi_lstm_none",
    "bidi_lstm_state", "cudnn_lstm", "bidi_cudnn_lstm", "simple_rnn", "simple_rnn_masked", "simple_rnn_state",
    "rnn_cells", "rnn_stacked_cells", "rnn_cells_masked", "lstm_attention",
    # GRU options and masks
    "return_state", "initial_state_input", "masking_dense_gru", "embed_int64",
    # convolutions, pooling, global pooling, shapes
    "conv_same_d2_avgpool_same", "conv_valid_s2_maxpool", "gru_gmp", "gmp_keepdims", "cnn_gru_same",
    "cnn_shapes", "cnn_gmp2d", "td_avgpool", "image_layers", "conv1d_transpose", "conv1d_transpose_b",
    "separable_conv", "separable_causal", "reshape_gru_flatten", "permute_gru", "repeat_vector", "seq_shapes",
    # normalizations, merges, EinsumDense, attention, Dot, preprocessing
    "groupnorm", "unitnorm", "merge_subtract", "merge_multiply", "merge_average", "merge_maximum",
    "merge_minimum", "merge_masked", "concat_two_masks", "einsum", "einsum_b", "attention_dot",
    "attention_masked", "additive_attention", "mha", "dot", "normalization", "lookup_encoding",
]] + [(base, "float64") for base in [
    "gru_dense1", "embed_mask_gru", "batchnorm", "layernorm", "nested_siamese", "cnn_gru", "return_state",
    "zofm_seq", "zofm_bidi_seq", "dense_log_softmax", "layer_act_log_softmax", "lstm_stack", "lstm_masked",
    "lstm_options", "bidi_lstm_concat", "simple_rnn", "rnn_cells", "cnn_shapes", "image_layers",
    "global_channels_first", "cf_shapes", "gap_keepdims_masked", "seq_shapes", "conv1d_transpose",
    "separable_conv", "bn_axes_12", "ln_axes_12", "groupnorm", "unitnorm", "merge_broadcast_multiply",
    "einsum", "attention_dot", "attention_concat_causal", "additive_attention", "mha", "mha_cross",
    "mha_then_attention", "attention_shared", "dot", "normalization", "lookup_encoding",
]]
H5 = {"sm_embed_mask_bidi_gap", "sm_nested_seq", "sm_batchnorm", "sm_lstm_attention", "sm_mha_f64",
      "sm_bidi_lstm_state", "sm_rnn_stacked_cells"}
CUDNN = {"sm_cudnn_lstm", "sm_bidi_cudnn_lstm"}
THROUGH = {"sm_gru_dense1": ["gru"], "sm_batchnorm": ["gru", "bn_out"], "sm_conv_causal_d2_maxpool_same": ["pool", "gru"],
           "sm_embed_mask_gru": ["gru"]}


def grid():
    """(name, build(keras, gru_v1), what, dtype): one GRU or Bidirectional(GRU) after an Input."""
    def single(make, what, dtype="float32"):
        def build(keras, gru_v1):
            x = keras.Input((T, D), name="x")
            return keras.Model(x, make(keras, gru_v1)(x))
        return build, what, dtype

    G = lambda **kw: lambda k, v1: k.layers.GRU(5, name="gru", **kw)  # noqa: E731
    cases = {
        "gru_reset_after": single(G(return_sequences=True), "GRU(5, return_sequences): sigmoid, reset_after=True"),
        "gru_reset_before": single(G(reset_after=False, return_sequences=True), "GRU(5, reset_after=False)"),
        "gru_seed": single(lambda k, v1: v1.GRU(5, name="gru", return_sequences=True),
                           "gru_v1.GRU: hard_sigmoid (Keras 2), reset_after=False"),
        "gru_seed_f64": single(lambda k, v1: v1.GRU(5, name="gru", return_sequences=True),
                               "gru_v1.GRU in float64", "float64"),
        "gru_hard_sigmoid_after": single(G(recurrent_activation="hard_sigmoid"),
                                         "GRU(recurrent_activation='hard_sigmoid', reset_after=True): last output"),
        "gru_relu_nobias": single(G(activation="relu", use_bias=False, return_sequences=True),
                                  "GRU(activation='relu', use_bias=False)"),
        "gru_backwards": single(G(go_backwards=True, return_sequences=True), "GRU(go_backwards, return_sequences)"),
        "gru_state": single(G(return_sequences=True, return_state=True), "GRU(return_sequences, return_state)"),
        "gru_f64": single(G(return_sequences=True, reset_after=False, activation="softsign"),
                          "GRU(activation='softsign', reset_after=False) in float64", "float64"),
    }
    for mode in ["concat", "sum", "mul", "ave", None]:
        cases[f"bidi_{mode or 'none'}"] = single(
            lambda k, v1, mode=mode: k.layers.Bidirectional(k.layers.GRU(4, return_sequences=True), merge_mode=mode, name="bi"),
            f"Bidirectional(GRU(4, return_sequences), merge_mode={mode!r})")
    cases["bidi_seed_f64"] = single(
        lambda k, v1: k.layers.Bidirectional(v1.GRU(4), name="bi"), "Bidirectional(gru_v1.GRU) in float64", "float64")

    def stack(keras, gru_v1):
        x = keras.Input((T, D), name="x")
        h = keras.layers.GRU(6, return_sequences=True, name="gru_1")(x)
        h = keras.layers.GRU(5, return_sequences=True, reset_after=False, name="gru_2")(h)
        return keras.Model(x, keras.layers.GRU(4, go_backwards=True, name="gru_3")(h))
    cases["gru_stack"] = (stack, "GRU -> GRU(reset_after=False) -> GRU(go_backwards)", "float32")
    return cases


def randomize(model, rng, scales, dtype):
    """As make_fixtures_models.py: N(0,1) * scale; gamma 1 + N(0,1) * 0.5, moving_variance in [0.5, 1.5)."""
    for layer in model.layers:
        if not layer.weights:
            continue
        if hasattr(layer, "layers"):
            randomize(layer, rng, scales, dtype)
            continue
        if layer.__class__.__name__ == "Normalization":  # keeps its adapted mean, variance and count
            continue
        scale = scales.get(layer.name, WSCALE)
        values = []
        for v in layer.weights:
            kind = v.name.split("/")[-1].split(":")[0]
            scale_of = scale.get(kind, WSCALE) if isinstance(scale, dict) else scale
            shape = tuple(v.shape)
            if kind == "moving_variance":
                w = rng.uniform(0.5, 1.5, shape)
            elif kind == "gamma":
                w = 1 + rng.standard_normal(shape) * 0.5
            else:
                w = rng.standard_normal(shape) * scale_of
            values.append(w.astype(dtype))
        layer.set_weights(values)


def cudnn_twin(model, saved, rng):
    """As make_fixtures_models.py: each LSTM twin's bias the float32 sum of two random halves, and the
    CuDNNLSTM model given the twin's weights in cuDNN's layout (tf-keras's own `_convert_rnn_weights`, kernels
    per gate) with the two halves as its (8U,) bias; every other layer's weights copied."""
    from tf_keras.src.saving.legacy import hdf5_format

    def lstms(m):
        found = []
        for layer in m.layers:
            if hasattr(layer, "forward_layer"):
                found += [layer.forward_layer, layer.backward_layer]
            elif layer.__class__.__name__ in ("LSTM", "CuDNNLSTM"):
                found.append(layer)
        return found
    for layer, cud in zip(model.layers, saved.layers):
        if not hasattr(layer, "forward_layer") and layer.__class__.__name__ != "LSTM":
            cud.set_weights(layer.get_weights())
    for layer, cud in zip(lstms(model), lstms(saved)):
        assert cud.__class__.__name__ == "CuDNNLSTM"
        kernel, recurrent, _ = layer.get_weights()
        units = layer.units
        both = (rng.standard_normal(8 * units) * WSCALE).astype("float32")
        layer.set_weights([kernel, recurrent, both[:4 * units] + both[4 * units:]])
        converted = hdf5_format._convert_rnn_weights(cud, [kernel, recurrent, both[:4 * units] + both[4 * units:]])
        cud.set_weights([converted[0], converted[1], both])
        back = hdf5_format._convert_rnn_weights(layer, cud.get_weights())
        assert all(np.array_equal(a, b) for a, b in zip(back, layer.get_weights())), "cuDNN layout"


def as_list(ys):
    return [np.asarray(y) for y in (ys if isinstance(ys, (list, tuple)) else [ys])]


def legacy_metadata(folder):
    """Moves keras_metadata.pb's node metadata into saved_model.pb's SavedUserObject.metadata (TF 2.0-2.4)."""
    from tensorflow.core.protobuf import saved_model_pb2
    from tf_keras.protobuf import saved_metadata_pb2
    sm = saved_model_pb2.SavedModel()
    sm.ParseFromString((folder / "saved_model.pb").read_bytes())
    md = saved_metadata_pb2.SavedMetadata()
    md.ParseFromString((folder / "keras_metadata.pb").read_bytes())
    nodes = sm.meta_graphs[0].object_graph_def.nodes
    for node in md.nodes:
        assert nodes[node.node_id].user_object.identifier == node.identifier
        nodes[node.node_id].user_object.metadata = node.metadata
    (folder / "saved_model.pb").write_bytes(sm.SerializeToString())
    (folder / "keras_metadata.pb").unlink()


def keras3_export(folder):
    """Child process: Keras 3 without TF_USE_LEGACY_KERAS."""
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras
    model = keras.Sequential([keras.Input((T, D), name="x"), keras.layers.GRU(3, name="gru")])
    model.export(folder)


def refusals():
    """The SavedModel folders that hold no Keras model gru-run can run."""
    import subprocess
    import tensorflow as tf
    import tf_keras as keras
    for name in ["sm_no_keras", "sm_keras3_export", "sm_subclassed"]:
        if (OUT / name).exists():
            shutil.rmtree(OUT / name)
    module = tf.Module()
    module.w = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3))
    module.f = tf.function(lambda x: tf.matmul(x, module.w), input_signature=[tf.TensorSpec([None, 2], tf.float32)])
    tf.saved_model.save(module, str(OUT / "sm_no_keras" / "model"))
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    subprocess.run([sys.executable, __file__, "--keras3-export", str(OUT / "sm_keras3_export" / "model")], env=env, check=True)

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.gru = keras.layers.GRU(3)

        def call(self, x):
            return self.gru(x)
    model = Subclassed()
    model(np.zeros((1, T, D), "float32"))
    model.save(OUT / "sm_subclassed" / "model", save_format="tf", save_traces=False)


def main():
    if sys.argv[1:2] == ["--keras3-export"]:
        keras3_export(sys.argv[2])
        return
    import tensorflow as tf
    import tf_keras as keras
    from tf_keras.src.layers.rnn import gru_v1
    from tf_keras.src.layers.rnn.cudnn_lstm import CuDNNLSTM
    from tf_keras.src.saving.legacy import hdf5_format
    tf.get_logger().setLevel("ERROR")
    if "--refusals" in sys.argv[1:]:
        refusals()
        return
    force = "--force" in sys.argv[1:]
    only = [sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a == "--only"]
    if OUT.exists() and not only:
        if not force:
            sys.exit(f"refusing to overwrite {OUT} (use --force)")
        shutil.rmtree(OUT)
    OUT.mkdir(exist_ok=True)
    by_base = {c.base: c for c in models.CASES}
    jobs = []
    for name, (build, what, dtype) in grid().items():
        jobs.append((f"sm_{name}", lambda k, b=build: b(keras, gru_v1), [("float", (T, D))], what, dtype, {}, models.B))
    for base, dtype in FROM_MODELS:
        c = by_base[base]
        jobs.append((f"sm_{base}" + ("_f64" if dtype == "float64" else ""), lambda k, c=c: c.build(k), c.inputs,
                     c.what, dtype, c.scales, c.batch))
    jobs.append(("sm_traced_gru", lambda k: k.Sequential([k.Input((T, D), name="x"), k.L.GRU(3, name="gru")]),
                 [("float", (T, D))], "GRU(3), saved with its traced functions (save_traces=True)", "float32", {}, models.B))
    jobs.append(("sm_legacy_metadata", lambda k: k.Sequential([k.Input((T, D), name="x"),
                                                               k.L.Bidirectional(k.L.GRU(4, return_sequences=True), name="bi"),
                                                               k.L.GRU(3, reset_after=False, name="gru"),
                                                               k.L.Dense(2, name="head")]),
                 [("float", (T, D))], "Bidirectional -> GRU -> Dense, Keras metadata in saved_model.pb (TF 2.0-2.4)",
                 "float32", {}, models.B))
    jobs.append(("sm_sharded", lambda k: k.Sequential([k.Input((T, D), name="x"), k.L.GRU(5, name="gru"),
                                                       k.L.Dense(2, name="head")]),
                 [("float", (T, D))], "GRU -> Dense, the checkpoint in three data shards", "float32", {}, models.B))
    save_options = {"sm_sharded": tf.saved_model.SaveOptions(
        experimental_sharding_callback=tf.train.experimental.MaxShardSizePolicy(max_shard_size=300))}
    if only:
        jobs = [j for j in jobs if j[0] in only]
        if len(jobs) != len(set(only)):
            sys.exit("--only: no such case among " + ", ".join(sorted(set(only) - {j[0] for j in jobs})))
        for name in only:
            if (OUT / name).exists():
                shutil.rmtree(OUT / name)
    def twin_lstm(units, **kw):  # what a CuDNNLSTM computes, as an LSTM a CPU runs
        return keras.layers.LSTM(units, activation="tanh", recurrent_activation="sigmoid", **kw)
    entries = []
    for name, build, inputs, what, dtype, scales, batch in jobs:
        keras.backend.clear_session()
        keras.backend.set_floatx(dtype)
        try:
            k = models.Kit()
            k.L, k.Input, k.Model, k.Sequential, k.floatx = keras.layers, keras.Input, keras.Model, keras.Sequential, dtype
            k.gru = keras.layers.GRU
            k.part = "tfkeras"
            k.cudnn_lstm = twin_lstm
            k.leaky_relu = lambda a: keras.layers.LeakyReLU(alpha=a, name="leaky")
            rng = models.rng_for(name)
            model = build(k)
            randomize(model, rng, scales, dtype)
            saved = model
            if name in CUDNN:  # CuDNNLSTM cannot run on a CPU: y comes from its LSTM twin
                k.cudnn_lstm = CuDNNLSTM
                saved = build(k)
                cudnn_twin(model, saved, rng)
            xs = []
            for i, spec_ in enumerate(inputs):
                kind = spec_[0]
                xdtype = np.dtype(model.inputs[i].dtype.name) if kind == "ids" else dtype
                xs.append(models.make_input(rng, kind, spec_[1], xdtype, *spec_[2:], batch=batch))
            feed = xs[0] if len(xs) == 1 else xs
            ys = as_list(model.predict(feed, batch_size=batch, verbose=0))
            folder = OUT / name
            folder.mkdir()
            saved.save(folder / "model", save_format="tf", save_traces=(name == "sm_traced_gru"),
                       options=save_options.get(name))
            if name in H5:
                saved.save(folder / "model.h5")
            throughs = []
            for layer in THROUGH.get(name, []):
                sub = keras.Model(model.inputs, model.get_layer(layer).output)
                y = as_list(sub.predict(feed, batch_size=batch, verbose=0))[0]
                np.save(folder / f"through_{layer}.npy", y)
                throughs.append({"layer": layer, "file": f"through_{layer}.npy", "shape": list(y.shape)})
            if name == "sm_legacy_metadata":
                legacy_metadata(folder / "model")
            # tf-keras must load the folder and predict the same numbers.
            keras.backend.clear_session()
            reloaded = keras.models.load_model(folder / "model", compile=False)
            if name in CUDNN:  # the CuDNNLSTM layers and their weights come back; converted by tf-keras's
                # loader into a new LSTM twin, they predict the same numbers
                assert [type(a).__name__ for a in reloaded.layers] == [type(a).__name__ for a in saved.layers]
                assert all(np.array_equal(a, b) for a, b in zip(reloaded.get_weights(), saved.get_weights()))
                k.cudnn_lstm = twin_lstm
                twin = build(k)
                for layer, loaded in zip(twin.layers, reloaded.layers):
                    layer.set_weights(hdf5_format.preprocess_weights_for_loading(layer, loaded.get_weights()))
                reloaded = twin
            for y, a in zip(ys, as_list(reloaded.predict(feed, batch_size=batch, verbose=0))):
                assert np.array_equal(y, a), (name, "reloaded model differs")
                assert y.dtype == np.dtype(dtype) and np.all(np.isfinite(y)), name
        finally:
            keras.backend.set_floatx("float32")
        x_names = ["x.npy"] if len(xs) == 1 else [f"x{i}.npy" for i in range(len(xs))]
        y_names = ["y.npy"] if len(ys) == 1 else [f"y{i}.npy" for i in range(len(ys))]
        for file, arr in zip(x_names + y_names, xs + ys):
            np.save(folder / file, np.ascontiguousarray(arr))
        entries.append({
            "name": name, "dtype": dtype, "model": "model", "h5": name in H5,
            "inputs": [{"file": f, "shape": list(a.shape), "dtype": str(a.dtype)} for f, a in zip(x_names, xs)],
            "outputs": [{"file": f, "shape": list(a.shape), "dtype": str(a.dtype)} for f, a in zip(y_names, ys)],
            "throughs": throughs,
            "layers": [layer.name + ":" + layer.__class__.__name__ for layer in saved.layers],
            "exercises": what,
        })
        print(f"{name}: {', '.join(str(tuple(y.shape)) for y in ys)}", flush=True)

    generator = {"tensorflow": tf.__version__, "tf_keras": keras.__version__, "numpy": np.__version__}
    if only:
        old = json.loads((OUT / "manifest.json").read_text())["cases"]
        made = {e["name"]: e for e in entries}
        entries = [made.pop(e["name"], e) for e in old] + list(made.values())
    else:
        refusals()
    (OUT / "manifest.json").write_text(json.dumps({"generator": generator, "cases": entries}, indent=1) + "\n")
    print(f"savedmodel: {len(entries)} cases")


if __name__ == "__main__":
    main()

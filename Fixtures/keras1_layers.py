"""Keras 1.2.2's spelling of tf-keras layers, for make_fixtures_keras1.py: the config each class wrote
(`get_config` in Keras 1.2.2's keras/layers/*.py and keras/engine/topology.py), the weights it stored and
their names, and Keras 1's BatchNormalization modes 1 and 2, which Keras 2 dropped."""
import numpy as np
import tensorflow as tf
import tf_keras as k

L = k.layers
PREDICT_BATCH = 32  # Keras 1's Model.predict(x, batch_size=32)


class Keras1BatchNorm(L.Layer):
    """Keras 1.2.2 BatchNormalization(mode=1 or 2) as it computes at test time (normalization.py):
    mode 1 per sample over the last axis, `(x - m) / (sqrt(var + eps) + eps) * gamma + beta`; mode 2 with
    the statistics of the batch it is given over every axis but `axis` (`normalize_batch_in_training`)."""

    def __init__(self, mode, axis, epsilon, **kw):
        super().__init__(**kw)
        self.mode, self.axis, self.epsilon = mode, axis, epsilon

    def build(self, shape):
        n = (shape[self.axis],)
        self.gamma = self.add_weight(name="gamma", shape=n, initializer="ones")
        self.beta = self.add_weight(name="beta", shape=n, initializer="zeros")
        self.running_mean = self.add_weight(name="running_mean", shape=n, initializer="zeros", trainable=False)
        self.running_std = self.add_weight(name="running_std", shape=n, initializer="ones", trainable=False)

    def call(self, x):
        if self.mode == 1:
            m = tf.reduce_mean(x, axis=-1, keepdims=True)
            std = tf.sqrt(tf.reduce_mean(tf.square(x - m), axis=-1, keepdims=True) + self.epsilon)
            return self.gamma * ((x - m) / (std + self.epsilon)) + self.beta
        rank = len(x.shape)
        axis = self.axis % rank
        mean, var = tf.nn.moments(x, [a for a in range(rank) if a != axis], keepdims=True)
        shape = [1] * rank
        shape[axis] = -1
        return tf.nn.batch_normalization(x, mean, var, tf.reshape(self.beta, shape), tf.reshape(self.gamma, shape), self.epsilon)


def keras1_bn_numpy(x, mode, axis, gamma, beta, _mean, _std, epsilon):
    """The same formulas in float64 numpy; mode 2 over predict's batches of 32 samples."""
    x = x.astype("float64")
    if mode == 1:
        m = x.mean(axis=-1, keepdims=True)
        std = np.sqrt(((x - m) ** 2).mean(axis=-1, keepdims=True) + epsilon)
        return gamma * ((x - m) / (std + epsilon)) + beta
    out = np.empty_like(x)
    axis = axis % x.ndim
    others = tuple(a for a in range(x.ndim) if a != axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    for first in range(0, len(x), PREDICT_BATCH):
        part = x[first:first + PREDICT_BATCH]
        mean = part.mean(axis=others, keepdims=True)
        var = ((part - mean) ** 2).mean(axis=others, keepdims=True)
        out[first:first + PREDICT_BATCH] = (part - mean) / np.sqrt(var + epsilon) * gamma.reshape(shape) + beta.reshape(shape)
    return out


def _regularizers(*names):
    return {n: None for n in names}


def _activation(layer):
    return layer.get_config()["activation"]


def _recurrent(layer, c):
    """Keras 1.2.2's Recurrent.get_config keys. `input_dim` is the real input width: Recurrent.build sets
    it before model.save writes the config (the GRU spelling above keeps the None it was first written with)."""
    return {"return_sequences": c["return_sequences"], "go_backwards": c["go_backwards"], "stateful": False,
            "unroll": False, "consume_less": "cpu", "input_dim": int(layer.input_shape[-1]), "input_length": None,
            "output_dim": c["units"], "init": "glorot_uniform", "inner_init": "orthogonal"}


def keras1_layer(layer):
    """(class_name, config) as Keras 1.2.2 wrote them for this tf-keras layer."""
    c, base = layer.get_config(), {"name": layer.name, "trainable": True}
    if type(layer).__name__ == "LSTM":  # keras/layers/recurrent.py LSTM.get_config
        return "LSTM", {**base, **_recurrent(layer, c), "forget_bias_init": "one", "activation": c["activation"],
                        "inner_activation": c["recurrent_activation"],
                        **_regularizers("W_regularizer", "U_regularizer", "b_regularizer"), "dropout_W": 0.0, "dropout_U": 0.0}
    if type(layer).__name__ == "SimpleRNN":  # SimpleRNN.get_config: no inner_activation
        return "SimpleRNN", {**base, **_recurrent(layer, c), "activation": c["activation"],
                             **_regularizers("W_regularizer", "U_regularizer", "b_regularizer"), "dropout_W": 0.0, "dropout_U": 0.0}
    if isinstance(layer, L.GRU) or type(layer).__name__ == "GRU":
        return "GRU", {**base, "return_sequences": c["return_sequences"], "go_backwards": False, "stateful": False,
                       "unroll": False, "consume_less": "cpu", "input_dim": None, "input_length": None,
                       "output_dim": c["units"], "init": "glorot_uniform", "inner_init": "orthogonal",
                       "activation": c["activation"], "inner_activation": c["recurrent_activation"],
                       **_regularizers("W_regularizer", "U_regularizer", "b_regularizer"), "dropout_W": 0.0, "dropout_U": 0.0}
    weighted = {"init": "glorot_uniform", **_regularizers("W_regularizer", "b_regularizer", "activity_regularizer",
                                                         "W_constraint", "b_constraint"), "bias": c.get("use_bias", True)}
    if isinstance(layer, L.Conv1D):
        atrous = c["dilation_rate"][0] > 1
        config = {**base, **weighted, "nb_filter": c["filters"], "filter_length": c["kernel_size"][0],
                  "activation": _activation(layer), "border_mode": c["padding"], "subsample_length": c["strides"][0],
                  "input_dim": None, "input_length": None}
        if atrous:
            config["atrous_rate"] = c["dilation_rate"][0]
        return ("AtrousConvolution1D" if atrous else "Convolution1D"), config
    if isinstance(layer, L.Conv2D):
        return "Convolution2D", {**base, **weighted, "nb_filter": c["filters"], "nb_row": c["kernel_size"][0],
                                 "nb_col": c["kernel_size"][1], "activation": _activation(layer), "border_mode": c["padding"],
                                 "subsample": list(c["strides"]), "dim_ordering": "tf"}
    if isinstance(layer, (L.MaxPooling1D, L.AveragePooling1D)):
        stride = None if getattr(layer, "keras1_stride_none", False) else c["strides"][0]
        return type(layer).__name__, {**base, "stride": stride, "pool_length": c["pool_size"][0], "border_mode": c["padding"]}
    if isinstance(layer, (L.MaxPooling2D, L.AveragePooling2D)):
        return type(layer).__name__, {**base, "pool_size": list(c["pool_size"]), "strides": list(c["strides"]),
                                      "border_mode": c["padding"], "dim_ordering": "tf"}
    if isinstance(layer, L.Dense):
        return "Dense", {**base, **weighted, "output_dim": c["units"], "activation": _activation(layer), "input_dim": None}
    if isinstance(layer, (L.BatchNormalization, Keras1BatchNorm)):
        mode, axis = (0, -1) if isinstance(layer, L.BatchNormalization) else (layer.mode, layer.axis)
        return "BatchNormalization", {**base, "epsilon": layer.epsilon, "mode": mode, "axis": axis,
                                      **_regularizers("gamma_regularizer", "beta_regularizer"), "momentum": 0.99}
    if isinstance(layer, L.Embedding):
        return "Embedding", {**base, "input_dim": c["input_dim"], "output_dim": c["output_dim"], "init": "uniform",
                             "input_length": None, "mask_zero": c["mask_zero"], "dropout": 0.2,
                             **_regularizers("activity_regularizer", "W_regularizer", "W_constraint")}
    if isinstance(layer, L.TimeDistributed):
        inner_class, inner_config = keras1_layer(layer.layer)
        return "TimeDistributed", {**base, "layer": {"class_name": inner_class, "config": inner_config}}
    if isinstance(layer, (L.Add, L.Multiply, L.Average, L.Maximum, L.Concatenate)):
        mode = {L.Add: "sum", L.Multiply: "mul", L.Average: "ave", L.Maximum: "max", L.Concatenate: "concat"}[type(layer)]
        return "Merge", {"name": layer.name, "mode": mode, "mode_type": "raw", "concat_axis": -1, "dot_axes": -1,
                         "output_shape": None, "output_shape_type": "raw", "output_mask": None,
                         "output_mask_type": "raw", "arguments": {}}
    simple = {L.Dropout: {"p": c.get("rate")}, L.GaussianNoise: {"sigma": c.get("stddev")},
              L.Masking: {"mask_value": c.get("mask_value")},
              L.Permute: {"dims": list(c.get("dims", []))}, L.Flatten: {},
              L.Activation: {"activation": c.get("activation")}, L.RepeatVector: {"n": c.get("n")},
              L.Reshape: {"target_shape": list(c.get("target_shape", []))}, L.GlobalAveragePooling1D: {}}
    if type(layer) in simple:
        return type(layer).__name__, {**base, **simple[type(layer)]}
    raise ValueError(f"no Keras 1 spelling for {type(layer).__name__}")


def keras1_model_config(model):
    """Sequential: the bare layer list, the first layer holding batch_input_shape and input_dtype.
    Functional: Keras 1's Model config with InputLayers and [name, node, tensor] inbound nodes."""
    shape = [None] + list(model.inputs[0].shape[1:])
    dtype = model.inputs[0].dtype.name
    if isinstance(model, k.Sequential):
        layers = []
        for i, layer in enumerate(model.layers):
            class_name, config = keras1_layer(layer)
            if i == 0:
                config = {**config, "batch_input_shape": shape, "input_dtype": dtype}
            layers.append({"class_name": class_name, "config": config})
        return {"class_name": "Sequential", "config": layers}
    entries = []
    for layer in model.layers:
        if isinstance(layer, L.InputLayer):
            entries.append({"name": layer.name, "class_name": "InputLayer", "inbound_nodes": [],
                            "config": {"batch_input_shape": shape, "input_dtype": dtype, "sparse": False, "name": layer.name}})
            continue
        class_name, config = keras1_layer(layer)
        inputs = layer.input if isinstance(layer.input, list) else [layer.input]
        nodes = [[t._keras_history.layer.name, 0, 0] for t in inputs]
        entries.append({"name": layer.name, "class_name": class_name, "config": config, "inbound_nodes": [nodes]})
    name = model.inputs[0]._keras_history.layer.name
    return {"class_name": "Model", "config": {"name": "model_1", "layers": entries, "input_layers": [[name, 0, 0]],
                                              "output_layers": [[model.outputs[0]._keras_history.layer.name, 0, 0]]}}


def keras1_weights(layer):
    """[(weight name, array)] in Keras 1's order, names and shapes."""
    if isinstance(layer, L.TimeDistributed):
        return keras1_weights(layer.layer)
    w, n = layer.get_weights(), layer.name
    if type(layer).__name__ == "GRU":
        units = w[1].shape[0]
        out = []
        for g, gate in enumerate("zrh"):
            cols = slice(g * units, (g + 1) * units)
            out += [(f"{n}_W_{gate}:0", w[0][:, cols]), (f"{n}_U_{gate}:0", w[1][:, cols]), (f"{n}_b_{gate}:0", w[2][cols])]
        return out
    if type(layer).__name__ == "LSTM":
        # Keras 1.2.2 LSTM.build sets trainable_weights gate by gate in the order i, c, f, o (Keras 2's
        # blocks along 4U are i, f, c, o); each gate W (input_dim, output_dim), U, b.
        units = w[1].shape[0]
        out = []
        for gate in "icfo":
            cols = slice("ifco".index(gate) * units, ("ifco".index(gate) + 1) * units)
            out += [(f"{n}_W_{gate}:0", w[0][:, cols]), (f"{n}_U_{gate}:0", w[1][:, cols]), (f"{n}_b_{gate}:0", w[2][cols])]
        return out
    if type(layer).__name__ == "SimpleRNN":
        return [(f"{n}_W:0", w[0]), (f"{n}_U:0", w[1]), (f"{n}_b:0", w[2])]
    if isinstance(layer, L.Conv1D):
        return [(f"{n}_W:0", w[0][:, None, :, :])] + ([(f"{n}_b:0", w[1])] if len(w) > 1 else [])
    if isinstance(layer, (L.Conv2D, L.Dense)):
        return [(f"{n}_W:0", w[0])] + ([(f"{n}_b:0", w[1])] if len(w) > 1 else [])
    if isinstance(layer, (L.BatchNormalization, Keras1BatchNorm)):
        return [(f"{n}_{part}:0", v) for part, v in zip(["gamma", "beta", "running_mean", "running_std"], w)]
    if isinstance(layer, L.Embedding):
        return [(f"{n}_W:0", w[0])]
    assert not w, f"{n} has weights with no Keras 1 layout here"
    return []

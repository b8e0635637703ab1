#!/usr/bin/env python3
"""Generate whole-model reference data for gru-run with real Keras (tf-keras 2.21 and Keras 3).

Writes Fixtures/models/<case>/ for every case below, and Fixtures/models/manifest.json:
the model file (`model.h5` from tf-keras `model.save`, `model.keras` from Keras 3), its
inputs (`x.npy`, or `x0.npy`, `x1.npy`, ... for several) and `model.predict`'s outputs
(`y.npy`, or `y0.npy`, `y1.npy`, ...). The two Keras versions run in two child processes:

  tfkeras part: TF_USE_LEGACY_KERAS=1, `import tf_keras`  -> cases named tfk_*
  keras3 part:  KERAS_BACKEND=tensorflow, `import keras`   -> cases named k3_*

Usage:  python Fixtures/make_fixtures_models.py [--force] [--root DIR] [--only PART|CASE|PATTERN]...

Existing case folders are never overwritten unless --force is given. `--only` takes a part
(tfkeras, keras3), a case name or a shell pattern (`'k3_merge_*'`), and may be repeated.

CuDNNLSTM (tfk_cudnn_lstm, tfk_bidi_cudnn_lstm): tf-keras's compat v1 layer builds and saves on CPU but
cannot run there, so `model.h5` holds the CuDNNLSTM model and `y.npy` comes from its CPU twin,
LSTM(activation="tanh", recurrent_activation="sigmoid"). What tf-keras 2.21's source says, and the script
checks for every case:
  - cudnn_lstm.py `_process_batch` hands cuDNN (CudnnRNNV3, rnn_mode lstm) the kernel (D, 4U) and
    recurrent_kernel (U, 4U) cut into 4 column blocks each, and the (8U,) bias cut into 8 pieces, through
    gru_lstm_utils.canonical_to_params with no transpose: each block is flattened in C order, which cuDNN
    reads as a row-major (U, D) or (U, U) matrix W applied as W·x. The Keras LSTM block is therefore
    `stored.reshape(U, D).T` per gate (hdf5_format._convert_rnn_weights: `stored.T.reshape((D, U),
    order="F")`), and the recurrent block `stored.T`. Both blocks keep the gate order i, f, c, o.
  - The bias is input-side i, f, c, o then recurrent-side i, f, c, o (unit_forget_bias puts its ones at
    5U..6U); cuDNN adds the two, so the LSTM bias is `bias[:4U] + bias[4U:]` (what _convert_rnn_weights
    does). The halves are drawn separately here, and the LSTM bias is their float32 sum.
  - lstm.py `gpu_lstm` (tf-keras's own LSTM on a GPU) hands cuDNN the same parameters: its kernels
    per gate i, f, c, o, transposed, zeros for the input-side bias and its bias on the recurrent side. The
    script builds both parameter vectors with canonical_to_params and requires equal weights and equal
    per-gate bias sums; it also converts with _convert_rnn_weights both ways, reloads the file with tf-keras
    (CuDNNLSTM layers and weights come back) and into the LSTM twin (same predictions), and computes the
    model in NumPy from the stored arrays as cuDNN reads them (within 2e-5).
"""
import argparse
import contextlib
import fnmatch
import importlib.metadata
import io
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
PINS = HERE / "requirements-keras3.txt"
B, T, D = 3, 6, 4                 # batch, steps, features
WSCALE = 0.5                      # weights: standard normal * WSCALE unless a case says otherwise
VOCAB = 12                        # Embedding input_dim
FIXED_EPOCH = 1735689600          # .keras archives: the clock fixed while saving (see keras3/)
SHARED_ID_BASE = 140000000000000
PARTS = {"tfkeras": "tfk", "keras3": "k3"}


# ============================================================================ cases (no TF)
class Case:
    """A model built the same way by either Keras. `build(k)` returns the model; `inputs` lists
    ("float", shape[, scale]) / ("masked", shape) / ("ids", shape) without the batch axis."""

    def __init__(self, base, build, inputs, what, parts=("tfkeras", "keras3"), float64=False,
                 seed_gru=False, scales=None, batch=B, mask_matters=False, check=None, cudnn=False):
        self.base, self.build, self.inputs, self.what = base, build, inputs, what
        self.parts, self.float64, self.seed_gru, self.scales = parts, float64, seed_gru, scales or {}
        self.batch = batch
        # mask_matters: the same model and weights with every mask switched off (Masking that matches
        # nothing, Embedding(mask_zero=False)) must give other numbers. check(model, saved, xs, ys, k):
        # a case's own comparison with NumPy. cudnn: `k.cudnn_lstm` layers are saved as tf-keras's
        # CuDNNLSTM and computed by their CPU twin (see CUDNN_LSTM below).
        self.mask_matters, self.check, self.cudnn = mask_matters, check, cudnn


def seq(k, shape, layers, dtype=None):
    return k.Sequential([k.Input(shape=shape, dtype=dtype or k.floatx, name="x")] + layers)


def dense_head(act, scale=1.5, **case_kw):
    """GRU(8, return_sequences) -> Dense(6, act): the activation's output is the model's."""
    def build(k):
        return seq(k, (T, D), [k.gru(8, return_sequences=True, name="gru"),
                               k.L.Dense(6, activation=act, name="head")])
    return Case(f"dense_{act}", build, [("float", (T, D))],
                f"Dense(6, activation='{act}') over a GRU's sequence",
                scales={"head": scale}, **case_kw)


def activation_layer(base, make, what, **case_kw):
    def build(k):
        return seq(k, (T, D), [k.gru(8, return_sequences=True, name="gru"),
                               k.L.Dense(6, name="dense"), make(k)])
    return Case(base, build, [("float", (T, D))], what, scales={"dense": 1.5}, **case_kw)


def gru_activations(act, recurrent, **case_kw):
    """GRU(6, activation=act, recurrent_activation=recurrent, return_sequences), the name under test
    in one of the two roles and tanh or sigmoid in the other. Inputs x 1.5 and kernel x 0.6 so that the
    gates reach every bend (0.5, 1, 3); recurrent_kernel x 0.1. A gate z outside [0, 1] multiplies the
    state by up to |z| + |1 - z| a step, so the recurrent_activation cases take 2 steps, not 6 (the
    state stays below about 20, where float32 still resolves 1e-5)."""
    steps = T if recurrent == "sigmoid" else 2

    def build(k):
        return seq(k, (steps, D), [k.gru(6, activation=act, recurrent_activation=recurrent,
                                         return_sequences=True, name="gru")])
    base = f"gru_act_{act}" if recurrent == "sigmoid" else f"gru_ract_{recurrent}"
    return Case(base, build, [("float", (steps, D), 1.5)],
                f"GRU(activation='{act}', recurrent_activation='{recurrent}'), {steps} steps",
                scales={"gru": {"kernel": 0.6, "recurrent_kernel": 0.1, "bias": 0.5}}, **case_kw)


def merge(kind):
    def build(k):
        x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
        a = k.gru(6, name="gru_a")(x)
        b = k.gru(6, name="gru_b")(x)
        m = getattr(k.L, kind)(name="merge")([a, b])
        return k.Model(x, k.L.Dense(2, name="head")(m))
    return Case(f"merge_{kind.lower()}", build, [("float", (T, D))],
                f"functional: {kind} of two GRU branches over one input -> Dense")


def bidirectional(mode):
    def build(k):
        return seq(k, (T, D), [k.L.Bidirectional(k.gru(5), merge_mode=mode, name="bi"),
                               k.L.Dense(3, name="head")])
    return Case(f"bidi_{mode}", build, [("float", (T, D))],
                f"Bidirectional(GRU(5), merge_mode='{mode}') -> Dense(3)")


def b_gru_dense1(k):
    return seq(k, (T, D), [k.gru(8, name="gru"), k.L.Dense(1, name="head")])


def b_gru_softmax(k):
    return seq(k, (T, D), [k.gru(8, name="gru"), k.L.Dense(5, activation="softmax", name="head")])


def b_wide_head(k):
    return seq(k, (T, D), [k.gru(40, return_sequences=True, name="gru"),
                           k.L.Dense(1700, activation="softmax", name="head")])


def b_embed_mask(k):
    return seq(k, (T,), [k.L.Embedding(VOCAB, 6, mask_zero=True, name="embed"),
                         k.gru(8, name="gru"), k.L.Dense(3, name="head")], dtype="int32")


def b_embed_td(k):
    return seq(k, (T,), [k.L.Embedding(VOCAB, 6, mask_zero=False, name="embed"),
                         k.gru(8, return_sequences=True, name="gru"),
                         k.L.TimeDistributed(k.L.Dense(4), name="td")], dtype="int32")


def b_embed_mask_bidi_gap(k):
    return seq(k, (T,), [k.L.Embedding(VOCAB, 5, mask_zero=True, name="embed"),
                         k.L.Bidirectional(k.gru(4, return_sequences=True), name="bi"),
                         k.L.GlobalAveragePooling1D(name="gap"), k.L.Dense(2, name="head")],
               dtype="int32")


def b_masking_gap(k):
    return seq(k, (T, D), [k.L.Masking(0.0, name="masking"),
                           k.gru(8, return_sequences=True, name="gru"),
                           k.L.GlobalAveragePooling1D(name="gap"), k.L.Dense(2, name="head")])


def b_masking_td_gap(k):
    return seq(k, (T, D), [k.L.Masking(0.0, name="masking"),
                           k.gru(6, return_sequences=True, name="gru"),
                           k.L.TimeDistributed(k.L.Dense(4, activation="tanh"), name="td"),
                           k.L.GlobalAveragePooling1D(name="gap")])


def b_gru_gmp(k):
    return seq(k, (T, D), [k.gru(8, return_sequences=True, name="gru"),
                           k.L.GlobalMaxPooling1D(name="gmp"), k.L.Dense(2, name="head")])


def b_stacked_noise(k):
    L = k.L
    return seq(k, (T, D), [k.gru(8, return_sequences=True, name="gru_1"), L.Dropout(0.3),
                           L.SpatialDropout1D(0.2), L.GaussianNoise(0.5),
                           k.gru(7, return_sequences=True, name="gru_2"), L.GaussianDropout(0.3),
                           L.AlphaDropout(0.2), L.ActivityRegularization(l1=0.01, l2=0.01),
                           k.gru(6, name="gru_3"), L.Dropout(0.5), L.Dense(2, name="head")])


def conv(base, conv_kw, pool, pool_kw, what, **case_kw):
    def build(k):
        return seq(k, (8, 3), [k.L.Conv1D(6, name="conv", **conv_kw),
                               getattr(k.L, pool)(name="pool", **pool_kw),
                               k.gru(5, name="gru"), k.L.Dense(2, name="head")])
    return Case(base, build, [("float", (8, 3))], what, **case_kw)


def b_repeat(k):
    return seq(k, (T, D), [k.gru(6, name="encoder"), k.L.RepeatVector(4, name="repeat"),
                           k.gru(5, return_sequences=True, name="decoder"),
                           k.L.TimeDistributed(k.L.Dense(2), name="td")])


def b_permute(k):
    return seq(k, (T, D), [k.L.Permute((2, 1), name="permute"), k.gru(5, name="gru"),
                           k.L.Dense(2, name="head")])


def b_reshape_flatten(k):
    return seq(k, (T * D,), [k.L.Reshape((T, D), name="reshape"),
                             k.gru(5, return_sequences=True, name="gru"),
                             k.L.Flatten(name="flatten"), k.L.Dense(3, name="head")])


def b_batchnorm(k):
    L = k.L
    return seq(k, (T, D), [L.BatchNormalization(name="bn_in"),
                           k.gru(6, return_sequences=True, name="gru"),
                           L.BatchNormalization(epsilon=0.01, center=False, name="bn_out"),
                           k.gru(5, name="gru_2"), L.BatchNormalization(scale=False, name="bn_last"),
                           L.Dense(2, name="head")])


def b_layernorm(k):
    L = k.L
    return seq(k, (T, D), [L.LayerNormalization(name="ln_in"),
                           k.gru(6, return_sequences=True, name="gru"),
                           L.LayerNormalization(epsilon=1e-5, scale=False, name="ln_out"),
                           k.gru(5, name="gru_2"), L.LayerNormalization(center=False, name="ln_last"),
                           L.Dense(2, name="head")])


def b_concat_inputs(k):
    a = k.Input(shape=(T, 3), dtype=k.floatx, name="a")
    b = k.Input(shape=(T, 2), dtype=k.floatx, name="b")
    m = k.L.Concatenate(axis=-1, name="concat")([a, b])
    h = k.gru(6, name="gru")(m)
    return k.Model([a, b], k.L.Dense(2, name="head")(h))


def b_two_outputs(k):
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    s = k.gru(6, return_sequences=True, name="gru")(x)
    pooled = k.L.GlobalAveragePooling1D(name="gap")(s)
    first = k.L.Dense(3, activation="softmax", name="label")(pooled)
    second = k.L.TimeDistributed(k.L.Dense(2), name="per_step")(s)
    return k.Model(x, [first, second])


def b_return_state(k):
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    s, h = k.gru(6, return_sequences=True, return_state=True, name="gru")(x)
    from_state = k.L.Dense(2, name="from_state")(h)
    from_seq = k.L.Dense(3, activation="tanh", name="from_seq")(k.L.GlobalMaxPooling1D(name="gmp")(s))
    return k.Model(x, [from_state, from_seq])


def b_initial_state(k):
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    c = k.Input(shape=(3,), dtype=k.floatx, name="context")
    h0 = k.L.Dense(6, activation="tanh", name="to_state")(c)
    h = k.gru(6, name="gru")(x, initial_state=[h0])
    return k.Model([x, c], k.L.Dense(2, name="head")(h))


def b_initial_state_direct(k):
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    h0 = k.Input(shape=(5,), dtype=k.floatx, name="h0")
    s = k.gru(5, return_sequences=True, name="gru")(x, initial_state=h0)
    return k.Model([x, h0], s)


def b_nested_siamese(k):
    L = k.L
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x_in")
    h = L.BatchNormalization(name="enc_bn")(k.gru(6, return_sequences=True, name="enc_gru")(x))
    encoder = k.Model(x, L.Dense(3, activation="tanh", name="enc_dense")(h), name="encoder")
    a = k.Input(shape=(T, D), dtype=k.floatx, name="a")
    b = k.Input(shape=(T, D), dtype=k.floatx, name="b")
    ea, eb = encoder(a), encoder(b)
    d = L.Subtract(name="diff")([ea, eb])
    return k.Model([a, b], [L.Dense(1, name="head")(k.gru(4, name="gru")(d)), ea])


def b_nested_seq(k):
    L = k.L
    inner2 = k.Sequential([L.Dense(5, activation="relu", name="in2_dense")], name="inner2")
    inner = k.Sequential([L.Bidirectional(k.gru(4, return_sequences=True), name="in_bidi"), inner2], name="inner")
    return seq(k, (T, D), [L.Dense(6, name="dense"), inner, k.gru(3, name="gru"), L.Dense(2, name="head")])


def b_nested_masked(k):
    L = k.L
    f = k.Input(shape=(T, 5), dtype=k.floatx, name="feat")
    s = k.gru(6, return_sequences=True, name="in_gru")(f)
    s = L.TimeDistributed(L.Dense(4), name="in_td")(s)
    inner = k.Model(f, k.gru(3, name="in_gru_2")(s), name="inner")
    ids = k.Input(shape=(T,), dtype="int32", name="ids")
    e = L.Embedding(VOCAB, 5, mask_zero=True, name="embed")(ids)
    return k.Model(ids, L.Dense(2, name="head")(inner(e)))


def b_nested_enc_dec(k):
    L = k.L
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    s, h = k.gru(6, return_sequences=True, return_state=True, name="enc_gru")(x)
    encoder = k.Model(x, [s, h], name="encoder")
    s_in = k.Input(shape=(T, 6), dtype=k.floatx, name="s_in")
    h_in = k.Input(shape=(6,), dtype=k.floatx, name="h_in")
    g = k.gru(6, return_sequences=True, name="dec_gru")(s_in, initial_state=h_in)
    decoder = k.Model([s_in, h_in], L.Dense(4, activation="tanh", name="dec_dense")(g), name="decoder")
    head = k.Sequential([L.Dense(4, activation="relu", name="head_1"), L.Dense(2, name="head_2")], name="head_seq")
    es, eh = encoder(x)
    return k.Model(x, [decoder([es, eh]), head(eh)])


def b_cnn_gru(k):
    L = k.L
    return seq(k, (4, 8, 8, 1), [L.TimeDistributed(L.Conv2D(4, 3, activation="relu"), name="conv"),
                                 L.TimeDistributed(L.MaxPooling2D(2), name="pool"),
                                 L.TimeDistributed(L.Flatten(), name="flatten"),
                                 k.gru(6, name="gru"), L.Dense(2, name="head")])


def b_cnn_gru_same(k):
    L = k.L
    return seq(k, (4, 8, 8, 2), [L.TimeDistributed(L.Conv2D(3, (3, 2), strides=2, padding="same"),
                                                   name="conv"),
                                 L.TimeDistributed(L.MaxPooling2D(2, strides=1, padding="same"),
                                                   name="pool"),
                                 L.TimeDistributed(L.Flatten(), name="flatten"),
                                 k.gru(5, return_sequences=True, name="gru"),
                                 L.TimeDistributed(L.Dense(2), name="head")])


def b_prelu(shared):
    def build(k):
        kw = {"shared_axes": [1]} if shared else {}
        return seq(k, (T, D), [k.gru(8, return_sequences=True, name="gru"),
                               k.L.Dense(6, name="dense"), k.L.PReLU(name="prelu", **kw)])
    return build


def b_masking_dense_gru(k):
    L = k.L
    return seq(k, (T, D), [L.Masking(0.0, name="masking"), L.Dense(5, activation="tanh", name="dense"),
                           L.LayerNormalization(name="ln"), k.gru(6, return_sequences=True, name="gru"),
                           L.Activation("relu", name="act"), k.gru(5, name="gru_2"),
                           L.Dense(2, name="head")])


def b_masking_gmp(k):
    return seq(k, (T, D), [k.L.Masking(0.0, name="masking"),
                           k.gru(6, return_sequences=True, name="gru"),
                           k.L.GlobalMaxPooling1D(name="gmp"), k.L.Dense(2, name="head")])


def b_masking_bn_gap(k):
    return seq(k, (T, D), [k.L.Masking(0.0, name="masking"), k.L.BatchNormalization(name="bn"),
                           k.gru(6, return_sequences=True, name="gru"),
                           k.L.GlobalAveragePooling1D(name="gap")])


def b_masking_bidi_last(k):
    return seq(k, (T, D), [k.L.Masking(0.0, name="masking"),
                           k.L.Bidirectional(k.gru(5), name="bi"), k.L.Dense(2, name="head")])


def b_concat_masked(k):
    a = k.Input(shape=(T, D), dtype=k.floatx, name="a")
    b = k.Input(shape=(T, 2), dtype=k.floatx, name="b")
    m = k.L.Concatenate(name="concat")([k.L.Masking(0.0, name="masking")(a), b])
    s = k.gru(6, return_sequences=True, name="gru")(m)
    return k.Model([a, b], k.L.GlobalAveragePooling1D(name="gap")(s))


def b_merge_masked(k):
    x = k.Input(shape=(T,), dtype="int32", name="ids")
    e = k.L.Embedding(VOCAB, 5, mask_zero=True, name="embed")(x)
    a = k.gru(6, return_sequences=True, name="gru_a")(e)
    b = k.gru(6, return_sequences=True, go_backwards=True, name="gru_b")(e)
    m = k.L.Add(name="add")([a, b])
    return k.Model(x, k.L.Dense(2, name="head")(k.L.GlobalAveragePooling1D(name="gap")(m)))


def two_masks(merge_layer):
    def build(k):
        a = k.Input(shape=(T, D), dtype=k.floatx, name="a")
        b = k.Input(shape=(T, D), dtype=k.floatx, name="b")
        sa = k.gru(5, return_sequences=True, name="gru_a")(k.L.Masking(0.0, name="masking_a")(a))
        sb = k.gru(5, return_sequences=True, name="gru_b")(k.L.Masking(0.0, name="masking_b")(b))
        m = merge_layer(k)([sa, sb])
        return k.Model([a, b], k.L.GlobalAveragePooling1D(name="gap")(m))
    return build


def b_bidi_none(k):
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    fw, bw = k.L.Bidirectional(k.gru(5, return_sequences=True), merge_mode=None, name="bi")(x)
    return k.Model(x, [k.L.TimeDistributed(k.L.Dense(2), name="td_fw")(fw), k.L.GlobalAveragePooling1D(name="gap")(bw)])


def b_bidi_state(k):
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    out, fh, bh = k.L.Bidirectional(k.gru(5, return_sequences=True, return_state=True), name="bi")(x)
    h = k.L.Concatenate(name="states")([fh, bh])
    return k.Model(x, [k.L.Dense(3, name="head")(h), out])


def b_gru_options(k):
    return seq(k, (T, D), [k.L.GRU(7, activation="relu", recurrent_activation="hard_sigmoid",
                                   reset_after=False, go_backwards=True, return_sequences=True,
                                   name="gru"),
                           k.L.GRU(5, use_bias=False, activation="softsign", name="gru_2"),
                           k.L.Dense(2, use_bias=False, name="head")])


def b_embed_int64(k):
    return seq(k, (T,), [k.L.Embedding(VOCAB, 6, mask_zero=True, name="embed"),
                         k.gru(6, return_sequences=True, name="gru"),
                         k.L.TimeDistributed(k.L.Dense(2), name="td")], dtype="int64")


ACTIVATIONS = ["relu", "tanh", "sigmoid", "hard_sigmoid", "elu", "selu", "softplus", "softsign",
               "swish", "gelu", "linear", "exponential", "relu6", "leaky_relu", "mish", "softmax"]
SMALL = {"exponential": 0.5}
# keras.activations names tf-keras 2.21 also has (silu it writes as swish), and those only Keras 3 has.
NEW_BOTH = ["silu", "log_softmax"]
NEW_KERAS3 = ["celu", "hard_tanh", "hard_silu", "hard_swish", "hard_shrink", "soft_shrink", "tanh_shrink",
              "log_sigmoid", "sparse_plus", "sparse_sigmoid", "squareplus", "glu", "sparsemax"]
# Element-wise, so a GRU's too: each is one case's activation and another's recurrent_activation.
NEW_ELEMENTWISE = ["celu", "hard_tanh", "hard_silu", "hard_shrink", "soft_shrink", "tanh_shrink",
                   "log_sigmoid", "sparse_plus", "sparse_sigmoid", "squareplus"]
NEW_F64 = {"log_softmax", "sparsemax", "glu", "celu", "squareplus", "tanh_shrink"}

def zero_output(base, go_backwards, return_sequences, what, **case_kw):
    """Masking -> GRU(zero_output_for_mask=True): masked steps output 0 (the state still carries)."""
    def build(k):
        return seq(k, (T, D), [k.L.Masking(0.0, name="masking"),
                               k.gru(7, return_sequences=return_sequences, go_backwards=go_backwards,
                                     zero_output_for_mask=True, name="gru")])
    return Case(base, build, [("masked5", (T, D))], what, batch=5, **case_kw)


def b_zofm_state(k):
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    m = k.L.Masking(0.0, name="masking")(x)
    s, h = k.gru(6, return_sequences=True, return_state=True, zero_output_for_mask=True, name="gru")(m)
    return k.Model(x, [s, h])


def b_zofm_embed_td(k):
    return seq(k, (T,), [k.L.Embedding(VOCAB, 5, mask_zero=True, name="embed"),
                         k.gru(6, return_sequences=True, zero_output_for_mask=True, name="gru"),
                         k.L.TimeDistributed(k.L.Dense(3), name="td")], dtype="int32")


def b_zofm_bidi(return_sequences, zero):
    def build(k):
        return seq(k, (T, D), [k.L.Masking(0.0, name="masking"),
                               k.L.Bidirectional(k.gru(5, return_sequences=return_sequences,
                                                       zero_output_for_mask=zero), name="bi")])
    return build


def b_zofm_stack(k):
    return seq(k, (T, D), [k.L.Masking(0.0, name="masking"),
                           k.gru(6, return_sequences=True, zero_output_for_mask=True, name="gru_1"),
                           k.gru(5, return_sequences=True, go_backwards=True, zero_output_for_mask=True,
                                 name="gru_2")])


def norm_gru(base, shape, layers, what, reshape=None, **case_kw):
    """Normalization layers over the given axes in front of a GRU(5, return_sequences)."""
    def build(k):
        made = [make(k) for make in layers]
        if reshape:
            made.append(k.L.Reshape(reshape, name="reshape"))
        return seq(k, shape, made + [k.gru(5, return_sequences=True, name="gru")])
    return Case(base, build, [("float", shape)], what, **case_kw)


def ln(axis, name, **kw):
    return lambda k: k.L.LayerNormalization(axis=axis, name=name, **kw)


def bn(axis, name, **kw):
    return lambda k: k.L.BatchNormalization(axis=axis, name=name, **kw)



def b_merge_broadcast(kind):
    """A GRU sequence (B, T, 6) merged with a (B, 6) vector (expanded at axis 1) and a (B, T, 1) gate."""
    def build(k):
        x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
        side = k.Input(shape=(3,), dtype=k.floatx, name="side")
        s = k.gru(6, return_sequences=True, name="gru")(x)
        v = k.L.Dense(6, name="vector")(side)
        g = k.L.Dense(1, activation="tanh", name="gate")(s)
        merged = getattr(k.L, kind)(name="merge")([s, v])
        if kind != "Subtract":
            merged = getattr(k.L, kind)(name="merge_3")([g, merged, v])
        return k.Model([x, side], k.gru(4, name="gru_2")(merged))
    return build



def b_no_gru(k):
    return seq(k, (T, D), [k.L.Dense(5, activation="relu", name="dense"), k.L.GlobalAveragePooling1D(name="gap"),
                           k.L.Dense(2, activation="softmax", name="head")])


def b_no_gru_two_inputs(k):
    a = k.Input(shape=(T, 3), dtype=k.floatx, name="a")
    b = k.Input(shape=(T, 2), dtype=k.floatx, name="b")
    joined = k.L.Concatenate(name="concat")([a, b])
    conv = k.L.Conv1D(4, 3, name="conv")(joined)
    return k.Model([a, b], k.L.Dense(2, name="head")(k.L.Flatten(name="flatten")(conv)))



# ---------------------------------------------------------------- more layer kinds
def b_gap_keepdims_masked(k):
    return seq(k, (T, D), [k.L.Masking(0.0, name="masking"), k.gru(6, return_sequences=True, name="gru"),
                           k.L.GlobalAveragePooling1D(keepdims=True, name="gap"),
                           k.gru(4, return_sequences=True, name="gru_2")])


def b_gmp_keepdims(k):
    return seq(k, (T, D), [k.gru(6, return_sequences=True, name="gru"),
                           k.L.GlobalMaxPooling1D(keepdims=True, name="gmp"), k.L.Flatten(name="flatten"),
                           k.L.Dense(2, name="head")])


def b_unitnorm(k):
    L = k.L
    return seq(k, (T, D), [L.Masking(0.0, name="masking"), L.UnitNormalization(name="un_in"),
                           k.gru(6, return_sequences=True, name="gru"),
                           L.UnitNormalization(axis=[1, 2], name="un_sample"),
                           L.UnitNormalization(axis=1, name="un_time"), k.gru(4, name="gru_2")])


def b_groupnorm(k):
    L = k.L
    return seq(k, (T, D), [L.Dense(8, name="dense"), L.GroupNormalization(groups=2, epsilon=0.01, name="gn"),
                           k.gru(6, return_sequences=True, name="gru"),
                           L.GroupNormalization(groups=3, axis=1, center=False, name="gn_time"),
                           L.GroupNormalization(groups=-1, scale=False, name="gn_each"),
                           L.GroupNormalization(groups=1, name="gn_one"), k.gru(4, name="gru_2")])


def b_groupnorm_masked(k):
    return seq(k, (T, D), [k.L.Masking(0.0, name="masking"), k.L.GroupNormalization(groups=2, name="gn"),
                           k.gru(5, return_sequences=True, name="gru")])


def b_rmsnorm(k):
    L = k.L
    return seq(k, (T, D), [L.Masking(0.0, name="masking"), L.RMSNormalization(name="rms_in"),
                           k.gru(6, return_sequences=True, name="gru"),
                           L.RMSNormalization(axis=[1, 2], epsilon=1e-3, name="rms_sample"),
                           k.gru(4, return_sequences=True, name="gru_2")])


def b_conv1d_transpose(k):
    L = k.L
    return seq(k, (T, 3), [L.Conv1DTranspose(4, 3, strides=2, padding="same", name="up_same"),
                           L.Conv1DTranspose(5, 4, strides=3, padding="valid", output_padding=1, use_bias=False,
                                             activation="tanh", name="up_valid"),
                           L.Conv1DTranspose(3, 3, padding="same", activation="relu", name="same_relu"),
                           k.gru(5, name="gru"), L.Dense(2, name="head")])


def b_conv1d_transpose_b(k):
    L = k.L
    return seq(k, (T, 3), [L.Conv1DTranspose(4, 4, padding="same", name="even_same"),
                           L.Conv1DTranspose(3, 3, strides=2, padding="same", output_padding=1, name="same_op"),
                           L.Conv1DTranspose(4, 2, strides=3, padding="valid", name="valid_gap"),
                           k.gru(5, return_sequences=True, name="gru")])


def b_einsum(k):
    L = k.L
    return seq(k, (T, D), [k.gru(6, return_sequences=True, name="gru"),
                           L.EinsumDense("abc,cd->abd", output_shape=(None, 5), bias_axes="d", name="ein_proj"),
                           L.EinsumDense("...b,bc->...c", output_shape=4, activation="tanh", name="ein_left"),
                           L.EinsumDense("abc,cde->abde", output_shape=(None, 2, 3), bias_axes="de", name="ein_heads"),
                           L.Reshape((T, 6), name="reshape"), k.gru(4, name="gru_2")])


def b_einsum_b(k):
    L = k.L
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    s = k.gru(5, return_sequences=True, name="gru")(x)
    right = L.EinsumDense("ab...,bc->ac...", output_shape=(3,), bias_axes="c", name="ein_right")(s)
    per_step = L.EinsumDense("abc,bcd->abd", output_shape=(T, 4), bias_axes="bd", name="ein_step")(s)
    reduced = L.EinsumDense("abc,cd->ad", output_shape=3, activation="relu", name="ein_sum")(s)
    return k.Model(x, [k.gru(4, name="gru_r")(right), k.gru(3, name="gru_s")(per_step), reduced])


def b_cnn_shapes(k):
    L = k.L
    td = L.TimeDistributed
    return seq(k, (4, 6, 6, 2), [td(L.ZeroPadding2D(((1, 0), (2, 1))), name="pad"),
                                 td(L.Conv2D(3, 3, activation="relu"), name="conv"),
                                 td(L.UpSampling2D((2, 1)), name="up"),
                                 td(L.UpSampling2D((1, 3), interpolation="bilinear"), name="up_bilinear"),
                                 td(L.Cropping2D(((1, 2), (0, 1))), name="crop"),
                                 td(L.GlobalAveragePooling2D(keepdims=True), name="gap"),
                                 td(L.Flatten(), name="flatten"), k.gru(5, name="gru"), L.Dense(2, name="head")])


def b_cnn_gmp2d(k):
    L = k.L
    td = L.TimeDistributed
    return seq(k, (4, 6, 6, 2), [td(L.Conv2D(4, 3, padding="same"), name="conv"),
                                 td(L.ZeroPadding2D(1), name="pad"), td(L.Cropping2D(1), name="crop"),
                                 td(L.GlobalMaxPooling2D(), name="gmp"), k.gru(5, return_sequences=True, name="gru")])


def b_image_layers(k):
    L = k.L
    x = k.Input(shape=(6, 6, 2), dtype=k.floatx, name="x")
    h = L.ZeroPadding2D(1, name="pad")(x)
    h = L.Cropping2D(((0, 1), (1, 0)), name="crop")(h)
    h = L.UpSampling2D(2, name="up")(h)
    h = L.UpSampling2D((3, 2), interpolation="bilinear", name="up_bilinear")(h)
    c = L.Conv2D(4, 3, strides=2, name="conv")(h)
    g = k.gru(5, name="gru")(L.Reshape((20, 52), name="reshape")(c))
    pooled = L.GlobalMaxPooling2D(name="gmp")(c)
    avg = L.GlobalAveragePooling2D(keepdims=True, name="gap")(c)
    return k.Model(x, [L.Dense(2, name="head")(L.Concatenate(name="concat")([g, pooled])), avg])


def b_seq_shapes(k):
    L = k.L
    return seq(k, (T, D), [L.ZeroPadding1D((1, 2), name="pad"), L.Cropping1D((2, 0), name="crop"),
                           L.UpSampling1D(2, name="up"), k.gru(5, return_sequences=True, name="gru"),
                           L.ZeroPadding1D(1, name="pad_2"), L.Cropping1D(name="crop_2"),
                           L.UpSampling1D(3, name="up_2"), k.gru(4, name="gru_2")])



def b_global_channels_first(k):
    L = k.L
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    s = k.gru(6, return_sequences=True, name="gru")(x)
    over_units = L.GlobalAveragePooling1D(data_format="channels_first", name="gap_cf")(s)
    kept = L.GlobalMaxPooling1D(data_format="channels_first", keepdims=True, name="gmp_cf")(s)
    grid = L.Reshape((2, 3, 6), name="grid")(s)
    pooled = L.GlobalAveragePooling2D(data_format="channels_first", keepdims=True, name="gap2d_cf")(grid)
    maxed = L.GlobalMaxPooling2D(data_format="channels_first", name="gmp2d_cf")(grid)
    return k.Model(x, [over_units, k.gru(3, name="gru_2")(kept), pooled, maxed])



def b_cf_shapes(k):
    L = k.L
    kw = {"data_format": "channels_first"}
    return seq(k, (T, D), [L.Reshape((2, 3, 4), name="planes"),
                           L.ZeroPadding2D(((1, 0), (0, 2)), name="pad", **kw),
                           L.Cropping2D(((0, 1), (1, 0)), name="crop", **kw),
                           L.UpSampling2D((2, 1), name="up", **kw),
                           L.UpSampling2D((1, 2), interpolation="bilinear", name="up_bilinear", **kw),
                           L.Reshape((12, 10), name="steps"), k.gru(5, name="gru")])


def b_cf_pad1d(k):
    return seq(k, (T, D), [k.gru(5, return_sequences=True, name="gru"),
                           k.L.ZeroPadding1D((1, 2), data_format="channels_first", name="pad"),
                           k.gru(3, name="gru_2")])


def b_activation_objects(k):
    """Activation layers given as a layer's activation argument (serialized as layer objects), the first
    named "relu" so that reading the layer's own name as an activation would be wrong."""
    try:
        leaky = k.L.LeakyReLU(negative_slope=0.1, name="relu")  # Keras 3
    except TypeError:
        leaky = k.L.LeakyReLU(alpha=0.1, name="relu")           # tf-keras
    return seq(k, (T, D), [k.gru(8, return_sequences=True, name="gru"),
                           k.L.Dense(6, activation=leaky, name="dense"),
                           k.L.Dense(5, activation=k.L.ReLU(max_value=0.8, threshold=0.1), name="dense_2"),
                           k.L.Dense(4, activation=k.L.ELU(alpha=0.5), name="dense_3")])



# ---------------------------------------------------------------- issue 20: attention, Dot, preprocessing
def b_attention_dot(k):
    """Attention(use_scale) on a query Dense and a GRU sequence, with the attention scores as an output."""
    L = k.L
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    s = k.gru(6, return_sequences=True, name="gru")(x)
    q = L.Dense(6, name="query")(s)
    a, w = L.Attention(use_scale=True, name="att")([q, s], return_attention_scores=True)
    return k.Model(x, [L.Dense(3, name="head")(L.GlobalAveragePooling1D(name="gap")(a)), w])


def b_attention_concat_causal(k):
    """Embedding(mask_zero) -> GRU -> Attention(concat, use_scale) on [query, value, key], causal: the
    masks of query and value, the causal mask, a key of its own."""
    L = k.L
    x = k.Input(shape=(T,), dtype="int32", name="ids")
    e = L.Embedding(VOCAB, 5, mask_zero=True, name="embed")(x)
    s = k.gru(6, return_sequences=True, name="gru")(e)
    key = L.Dense(6, name="key")(s)
    a = L.Attention(score_mode="concat", use_scale=True, name="att")([s, s, key], use_causal_mask=True)
    return k.Model(x, k.gru(4, name="gru_2")(a))


def b_attention_plain_masked(k):
    """Masking -> GRU -> Attention() with no scale: the value mask and the query mask into a GRU."""
    L = k.L
    return_seq = k.gru(5, return_sequences=True, name="gru")
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    s = return_seq(L.Masking(name="masking")(x))
    a = L.Attention(name="att")([s, s])
    return k.Model(x, L.Dense(2, name="head")(k.gru(4, name="gru_2")(a)))


def b_additive_attention(k):
    L = k.L
    x = k.Input(shape=(T,), dtype="int32", name="ids")
    e = L.Embedding(VOCAB, 5, mask_zero=True, name="embed")(x)
    s = k.gru(6, return_sequences=True, name="gru")(e)
    q = L.Dense(6, name="query")(s)
    a = L.AdditiveAttention(use_scale=True, name="add_att")([q, s])
    b = L.AdditiveAttention(use_scale=False, name="add_att_2")([s, q, s])
    return k.Model(x, [k.gru(4, name="gru_2")(a), L.GlobalMaxPooling1D(name="gmp")(b)])


def b_mha(k):
    """Embedding(mask_zero) -> GRU -> MultiHeadAttention self-attention (masks of query and value)."""
    L = k.L
    x = k.Input(shape=(T,), dtype="int32", name="ids")
    e = L.Embedding(VOCAB, 5, mask_zero=True, name="embed")(x)
    s = k.gru(8, return_sequences=True, name="gru")(e)
    a = L.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4, name="mha")(s, s)
    return k.Model(x, L.Dense(3, name="head")(L.GlobalAveragePooling1D(name="gap")(a)))


def b_mha_padded_rows(k):
    """Embedding(mask_zero) -> GRUs -> MultiHeadAttention layers whose sequences are outputs, padded query rows
    included (every score of such a row hidden). Two read the same GRU: Keras 3 runs the one returning its
    scores first (its functional order, not the config's), and each takes the masks off the tensors it reads,
    so the other runs unmasked; a third reads a GRU of its own, masked."""
    L = k.L
    x = k.Input(shape=(T,), dtype="int32", name="ids")
    e = L.Embedding(VOCAB, 5, mask_zero=True, name="embed")(x)
    s = k.gru(8, return_sequences=True, name="gru")(e)
    a = L.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4, name="mha")(s, s)
    b, w = L.MultiHeadAttention(num_heads=2, key_dim=4, name="mha_scores")(s, s, return_attention_scores=True)
    s2 = k.gru(6, return_sequences=True, name="gru_2")(e)
    c = L.MultiHeadAttention(num_heads=2, key_dim=3, name="mha_own")(s2, s2)
    return k.Model(x, [a, b, w, c])


def b_mha_cross(k):
    """MultiHeadAttention on query, value and key from different layers, output_shape, no bias,
    use_causal_mask and the attention scores as an output; a second one with key_dim only."""
    L = k.L
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    s = k.gru(6, return_sequences=True, name="gru")(x)
    v = L.Dense(5, name="value")(s)
    key = L.Dense(7, name="key")(x)
    a, w = L.MultiHeadAttention(num_heads=3, key_dim=2, output_shape=4, use_bias=False, name="mha")(
        s, v, key=key, use_causal_mask=True, return_attention_scores=True)
    b = L.MultiHeadAttention(num_heads=1, key_dim=4, name="mha_2")(a, s)
    return k.Model(x, [k.gru(3, name="gru_2")(b), w])


def b_dot(k):
    L = k.L
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    a = k.gru(5, return_sequences=True, name="gru_a")(x)
    b = k.gru(5, return_sequences=True, name="gru_b")(x)
    steps = L.Dot(axes=2, name="dot_steps")([a, b])                   # (B, T, T)
    units = L.Dot(axes=(1, 1), normalize=True, name="dot_units")([a, b])  # (B, 5, 5)
    la = k.gru(4, name="gru_c")(a)
    lb = L.Dense(4, name="dense")(k.gru(3, name="gru_d")(x))
    cos = L.Dot(axes=-1, normalize=True, name="cos")([la, lb])         # (B, 1)
    return k.Model(x, [k.gru(3, name="gru_e")(steps), L.Flatten(name="flat")(units), cos])



def b_normalization(k):
    """Normalization adapted over the features (axis -1) and over (steps, features), one given its mean and
    variance with invert; Rescaling with a number and with a list per feature."""
    L = k.L
    data = np.random.default_rng(7).standard_normal((40, T, D)) * 2.0 + 1.5
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    per_feature = L.Normalization(axis=-1, name="norm")
    per_feature.adapt(data.astype(k.floatx))
    per_step = L.Normalization(axis=(1, 2), name="norm_2")
    per_step.adapt(data.astype(k.floatx))
    inverted = L.Normalization(mean=[0.5, -1.0, 2.0, 0.0], variance=[4.0, 0.25, 1.0, 2.0], invert=True, name="norm_inv")
    a = k.gru(5, return_sequences=True, name="gru")(per_feature(x))
    b = L.Rescaling(0.5, offset=-0.25, name="rescale")(per_step(x))
    c = L.Rescaling([1.0, -2.0, 0.5, 3.0], name="rescale_list")(inverted(x))
    return k.Model(x, [k.gru(3, name="gru_2")(a), L.GlobalAveragePooling1D(name="gap")(b), c])


def b_lookup_encoding(k):
    """IntegerLookup with its vocabulary in the config (mask_token 0, and plain) -> Embedding(mask_zero) ->
    GRU; CategoryEncoding count and multi_hot of looked-up ids, one_hot of a (B, 1) id."""
    L = k.L
    ids = k.Input(shape=(T,), dtype="int64", name="ids")
    one = k.Input(shape=(1,), dtype="int64", name="one")
    looked = L.IntegerLookup(vocabulary=[3, 5, 7, 1, 9, 11], mask_token=0, name="lookup")(ids)
    e = L.Embedding(8, 4, mask_zero=True, name="embed")(looked)
    g = k.gru(5, name="gru")(e)
    plain = L.IntegerLookup(vocabulary=[2, 4, 6, 8], name="lookup_2")(ids)
    counts = L.CategoryEncoding(num_tokens=5, output_mode="count", name="count")(plain)
    hot = L.CategoryEncoding(num_tokens=5, output_mode="multi_hot", name="multi_hot")(plain)
    onehot = L.CategoryEncoding(num_tokens=VOCAB, output_mode="one_hot", name="one_hot")(one)
    head = L.Dense(3, name="head")(L.Concatenate(name="concat")([g, counts, hot]))
    return k.Model([ids, one], [head, onehot])


def b_separable(k):
    L = k.L
    return seq(k, (T + 4, 3), [L.SeparableConv1D(4, 3, depth_multiplier=2, padding="same", name="sep_same"),
                               L.SeparableConv1D(5, 2, strides=2, use_bias=False, activation="tanh", name="sep_stride"),
                               L.DepthwiseConv1D(2, depth_multiplier=3, activation="relu", name="dw_valid"),
                               L.DepthwiseConv1D(3, padding="same", dilation_rate=2, use_bias=False, name="dw_same"),
                               k.gru(4, return_sequences=True, name="gru")])


def b_separable_causal(k):
    L = k.L
    return seq(k, (T, 3), [L.SeparableConv1D(4, 3, padding="causal", dilation_rate=2, name="sep_causal"),
                           k.gru(4, name="gru")])


def b_td_avgpool(k):
    L = k.L
    td = L.TimeDistributed
    return seq(k, (4, 6, 6, 2), [td(L.Conv2D(3, 3, padding="same"), name="conv"),
                                 td(L.AveragePooling2D(2), name="avg"), td(L.SpatialDropout2D(0.3), name="drop"),
                                 td(L.AveragePooling2D((1, 3), strides=1, padding="same"), name="avg_same"),
                                 td(L.Flatten(), name="flatten"), k.gru(5, name="gru")])



def b_mha_then_attention(k):
    """Keras 3's MultiHeadAttention takes the masks off its inputs while the model is built, so the
    Attention built after it sees the GRU sequence unmasked; tf-keras keeps them. Then Dot and an adapted
    Normalization."""
    L = k.L
    x = k.Input(shape=(T,), dtype="int32", name="ids")
    e = L.Embedding(VOCAB, 5, mask_zero=True, name="embed")(x)
    s = k.gru(8, return_sequences=True, name="gru")(e)
    a = L.MultiHeadAttention(num_heads=2, key_dim=3, name="mha")(s, s, use_causal_mask=True)
    b = L.Attention(use_scale=True, name="att")([a, s])
    d = L.Dot(axes=2, name="dot")([b, s])
    n = L.Normalization(axis=-1, name="norm")
    n.adapt(np.random.default_rng(1).standard_normal((20, T, T)).astype(k.floatx))
    return k.Model(x, k.gru(3, name="gru_2")(n(d)))



def b_attention_shared(k):
    """One Attention layer (one scale weight) called twice: causal and returning its scores, then plain;
    one MultiHeadAttention called twice, causal and not."""
    L = k.L
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    s = k.gru(6, return_sequences=True, name="gru")(x)
    q = L.Dense(6, name="query")(s)
    att = L.Attention(use_scale=True, name="att")
    a, w = att([s, s], use_causal_mask=True, return_attention_scores=True)
    b = att([q, s])
    mha = L.MultiHeadAttention(num_heads=2, key_dim=2, name="mha")
    c = mha(q, s, use_causal_mask=True)
    d = mha(s, q)
    merged = L.Concatenate(name="concat")([a, b, c, d])
    return k.Model(x, [k.gru(3, name="gru_2")(merged), w])



CASES = [
    Case("gru_dense1", b_gru_dense1, [("float", (T, D))], "GRU(8) -> Dense(1)",
         float64=True, seed_gru=True),
    Case("gru_softmax", b_gru_softmax, [("float", (T, D))], "GRU(8) -> Dense(5, softmax)"),
    Case("wide_head", b_wide_head, [("float", (T, D))],
         "GRU(40, return_sequences) -> Dense(1700, softmax): a Dense kernel of 68,000 values, which gru-run reads "
         "from the file block by block into its packed form"),
    Case("embed_mask_gru", b_embed_mask, [("ids", (T,))],
         "Embedding(mask_zero=True) -> GRU(8) -> Dense(3); ids with 0 in a padded tail, "
         "a leading pad and a hole", float64=True, seed_gru=True),
    Case("embed_gru_td", b_embed_td, [("ids", (T,))],
         "Embedding(mask_zero=False, ids with 0s) -> GRU(return_sequences) -> TimeDistributed(Dense)"),
    Case("embed_mask_bidi_gap", b_embed_mask_bidi_gap, [("ids", (T,))],
         "Embedding(mask_zero=True) -> Bidirectional(GRU, return_sequences) -> "
         "GlobalAveragePooling1D (masked steps left out) -> Dense"),
    Case("masking_gru_gap", b_masking_gap, [("masked", (T, D))],
         "Masking -> GRU(return_sequences) -> GlobalAveragePooling1D (masked steps left out) -> Dense",
         seed_gru=True),
    Case("masking_gru_td_gap", b_masking_td_gap, [("masked", (T, D))],
         "Masking -> GRU(return_sequences) -> TimeDistributed(Dense) (mask passes) -> "
         "GlobalAveragePooling1D"),
    Case("gru_gmp", b_gru_gmp, [("float", (T, D))],
         "GRU(return_sequences) -> GlobalMaxPooling1D -> Dense"),
    *[bidirectional(m) for m in ["concat", "sum", "mul", "ave"]],
    Case("stacked_noise", b_stacked_noise, [("float", (T, D))],
         "three stacked GRUs with Dropout, SpatialDropout1D, GaussianNoise, GaussianDropout, "
         "AlphaDropout, ActivityRegularization between (identity at inference)", seed_gru=True),
    *[dense_head(a, SMALL.get(a, 1.5)) for a in ACTIVATIONS],
    *[dense_head(a, parts=("tfkeras", "keras3") if a in NEW_BOTH else ("keras3",), float64=a in NEW_F64)
      for a in NEW_BOTH + NEW_KERAS3],
    *[activation_layer(f"layer_act_{a}", lambda k, a=a: k.L.Activation(a, name="act"),
                       f"Activation('{a}') layer", float64=a in NEW_F64,
                       parts=("tfkeras", "keras3") if a in NEW_BOTH else ("keras3",))
      for a in NEW_BOTH + NEW_KERAS3],
    *[conv(f"conv_act_{a}", dict(kernel_size=3, padding="same", activation=a), "MaxPooling1D",
           dict(pool_size=2), f"Conv1D(6, same, activation='{a}') -> MaxPooling1D(2) -> GRU -> Dense",
           parts=parts) for a, parts in [("hard_silu", ("keras3",)),
                                         ("sparsemax", ("keras3",)), ("log_softmax", ("tfkeras", "keras3"))]],
    Case("gru_conv_glu", lambda k: seq(k, (T, D), [k.gru(8, return_sequences=True, name="gru"),
                                                   k.L.Conv1D(6, 3, padding="causal", activation="glu",
                                                              name="conv")]),
         [("float", (T, D))], "GRU(return_sequences) -> Conv1D(6, causal, activation='glu'): 3 channels out "
         "(last, since Keras 3 builds later layers for 6)", parts=("keras3",), scales={"conv": 1.0}),
    *[gru_activations(a, "sigmoid", parts=("keras3",), float64=a in NEW_F64) for a in NEW_ELEMENTWISE],
    *[gru_activations("tanh", a, parts=("keras3",), float64=a in NEW_F64) for a in NEW_ELEMENTWISE],
    activation_layer("layer_activation", lambda k: k.L.Activation("selu", name="act"),
                     "Activation('selu') layer"),
    activation_layer("layer_activation_softmax", lambda k: k.L.Activation("softmax", name="act"),
                     "Activation('softmax') layer"),
    activation_layer("layer_softmax_axis1", lambda k: k.L.Softmax(axis=1, name="softmax"),
                     "Softmax(axis=1) layer: over the time axis"),
    activation_layer("layer_softmax", lambda k: k.L.Softmax(name="softmax"), "Softmax() layer"),
    activation_layer("layer_relu_params", lambda k: k.L.ReLU(max_value=1.5, negative_slope=0.1,
                                                             threshold=0.3, name="relu"),
                     "ReLU(max_value=1.5, negative_slope=0.1, threshold=0.3)"),
    activation_layer("layer_relu", lambda k: k.L.ReLU(name="relu"), "ReLU() with defaults"),
    activation_layer("layer_leakyrelu", lambda k: k.leaky_relu(0.2), "LeakyReLU(0.2)"),
    activation_layer("layer_leakyrelu_default", lambda k: k.L.LeakyReLU(name="leaky"),
                     "LeakyReLU() with the version's default slope"),
    activation_layer("layer_elu", lambda k: k.L.ELU(alpha=0.7, name="elu"), "ELU(alpha=0.7)"),
    Case("layer_prelu", b_prelu(False), [("float", (T, D))], "PReLU with alpha per (step, unit)",
         scales={"dense": 1.5}),
    Case("layer_prelu_shared", b_prelu(True), [("float", (T, D))],
         "PReLU(shared_axes=[1]): alpha per unit", scales={"dense": 1.5}),
    conv("conv_valid_s2_maxpool", dict(kernel_size=3, strides=2, padding="valid"), "MaxPooling1D",
         dict(pool_size=2, strides=1, padding="valid"),
         "Conv1D(valid, kernel 3, strides 2) -> MaxPooling1D(2, strides 1, valid) -> GRU -> Dense"),
    conv("conv_same_d2_avgpool_same", dict(kernel_size=3, dilation_rate=2, padding="same",
                                           activation="relu"), "AveragePooling1D",
         dict(pool_size=3, strides=2, padding="same"),
         "Conv1D(same, kernel 3, dilation 2, relu) -> AveragePooling1D(3, strides 2, same) -> GRU"),
    conv("conv_causal_d2_maxpool_same", dict(kernel_size=3, dilation_rate=2, padding="causal"),
         "MaxPooling1D", dict(pool_size=3, strides=2, padding="same"),
         "Conv1D(causal, kernel 3, dilation 2) -> MaxPooling1D(3, strides 2, same) -> GRU"),
    conv("conv_same_s2_avgpool_valid", dict(kernel_size=4, strides=2, padding="same",
                                            use_bias=False), "AveragePooling1D",
         dict(pool_size=2, padding="valid"),
         "Conv1D(same, even kernel 4, strides 2, no bias) -> AveragePooling1D(2, valid) -> GRU"),
    conv("conv_causal_s2_avgpool_valid", dict(kernel_size=2, strides=2, padding="causal",
                                              activation="tanh"), "AveragePooling1D",
         dict(pool_size=2, strides=1, padding="valid"),
         "Conv1D(causal, kernel 2, strides 2, tanh) -> AveragePooling1D(2, strides 1, valid) -> GRU",
         ),
    Case("repeat_vector", b_repeat, [("float", (T, D))],
         "GRU -> RepeatVector(4) -> GRU(return_sequences) -> TimeDistributed(Dense)", seed_gru=True),
    Case("permute_gru", b_permute, [("float", (T, D))], "Permute((2, 1)) -> GRU -> Dense"),
    Case("reshape_gru_flatten", b_reshape_flatten, [("float", (T * D,))],
         "Reshape((6, 4)) -> GRU(return_sequences) -> Flatten -> Dense"),
    Case("batchnorm", b_batchnorm, [("float", (T, D))],
         "BatchNormalization before, between (epsilon 0.01, center=False) and after "
         "(scale=False) two GRUs", float64=True),
    Case("layernorm", b_layernorm, [("float", (T, D))],
         "LayerNormalization before, between (epsilon 1e-5, scale=False) and after "
         "(center=False) two GRUs", float64=True),
    Case("concat_inputs", b_concat_inputs, [("float", (T, 3)), ("float", (T, 2))],
         "functional: two inputs joined by Concatenate(axis=-1) into a GRU -> Dense"),
    *[merge(kind) for kind in ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]],
    Case("two_outputs", b_two_outputs, [("float", (T, D))],
         "functional: a GRU sequence feeds two outputs (GlobalAveragePooling1D -> Dense softmax, "
         "and TimeDistributed(Dense))"),
    Case("return_state", b_return_state, [("float", (T, D))],
         "functional: GRU(return_sequences, return_state); Dense on the state, Dense on "
         "GlobalMaxPooling1D of the sequence: two outputs", seed_gru=True, float64=True),
    Case("initial_state", b_initial_state, [("float", (T, D)), ("float", (3,))],
         "functional: a second input -> Dense(tanh) gives the GRU's initial_state",
         seed_gru=True),
    Case("initial_state_input", b_initial_state_direct, [("float", (T, D)), ("float", (5,))],
         "functional: a second input is the GRU's initial_state; the sequence is the output"),
    Case("masking_dense_gru", b_masking_dense_gru, [("masked", (T, D))],
         "Masking -> Dense(tanh) -> LayerNormalization -> GRU(return_sequences) -> Activation -> "
         "GRU -> Dense: the mask passes Dense, LayerNormalization and Activation into both GRUs",
         seed_gru=True),
    Case("masking_gru_gmp", b_masking_gmp, [("masked", (T, D))],
         "Masking -> GRU(return_sequences) -> GlobalMaxPooling1D -> Dense"),
    Case("masking_bn_gap", b_masking_bn_gap, [("masked", (T, D))],
         "Masking -> BatchNormalization -> GRU(return_sequences) -> GlobalAveragePooling1D"),
    Case("masking_bidi_last", b_masking_bidi_last, [("masked", (T, D))],
         "Masking -> Bidirectional(GRU) (last outputs) -> Dense"),
    Case("concat_masked", b_concat_masked, [("masked", (T, D)), ("float", (T, 2))],
         "functional: Masking on one of two inputs, Concatenate (the mask goes on) -> "
         "GRU(return_sequences) -> GlobalAveragePooling1D"),
    Case("merge_masked", b_merge_masked, [("ids", (T,))],
         "functional: Embedding(mask_zero) -> two GRU(return_sequences) branches (one going "
         "backwards) -> Add (masks joined) -> GlobalAveragePooling1D -> Dense"),
    *[Case(f"merge_two_masks_{kind.lower()}", two_masks(lambda k, kind=kind: getattr(k.L, kind)(name="merge")),
           [("masked", (T, D)), ("masked_b", (T, D))],
           f"functional: two inputs with different Masking patterns -> GRU(return_sequences) each -> "
           f"{kind} -> GlobalAveragePooling1D (the merged mask: AND in tf-keras, OR in Keras 3; "
           f"Keras 3 Maximum/Minimum/Multiply also fill masked steps)")
      for kind in ["Add", "Multiply", "Maximum", "Minimum"]],
    Case("concat_two_masks", two_masks(lambda k: k.L.Concatenate(name="concat")),
         [("masked", (T, D)), ("masked_b", (T, D))],
         "functional: two inputs with different Masking patterns -> GRU(return_sequences) each -> "
         "Concatenate -> GlobalAveragePooling1D (the joined mask: AND in tf-keras, OR in Keras 3)"),
    Case("concat_time_masks", two_masks(lambda k: k.L.Concatenate(axis=1, name="concat")),
         [("masked", (T, D)), ("masked_b", (T, D))],
         "functional: two masked GRU sequences joined on the time axis (Concatenate(axis=1): "
         "their masks joined in time) -> GlobalAveragePooling1D"),
    Case("bidi_none", b_bidi_none, [("float", (T, D))],
         "functional: Bidirectional(GRU, merge_mode=None) -> forward TimeDistributed(Dense), "
         "backward GlobalAveragePooling1D: two outputs"),
    Case("bidi_state", b_bidi_state, [("float", (T, D))],
         "functional: Bidirectional(GRU, return_sequences, return_state) -> Concatenate of the "
         "two states -> Dense, and the sequence: two outputs"),
    Case("gru_options", b_gru_options, [("float", (T, D))],
         "GRU(relu, hard_sigmoid, reset_after=False, go_backwards, return_sequences) -> "
         "GRU(softsign, no bias) -> Dense(no bias)"),
    Case("embed_int64", b_embed_int64, [("ids", (T,))],
         "int64 ids: Embedding(mask_zero) -> GRU(return_sequences) -> TimeDistributed(Dense)"),
    Case("cnn_gru", b_cnn_gru, [("float", (4, 8, 8, 1))],
         "TimeDistributed(Conv2D(relu)) -> TimeDistributed(MaxPooling2D) -> "
         "TimeDistributed(Flatten) -> GRU -> Dense; input (B, 4, 8, 8, 1)", float64=True),
    Case("cnn_gru_same", b_cnn_gru_same, [("float", (4, 8, 8, 2))],
         "TimeDistributed(Conv2D((3, 2), strides 2, same)) -> TimeDistributed(MaxPooling2D(2, "
         "strides 1, same)) -> TimeDistributed(Flatten) -> GRU(return_sequences) -> "
         "TimeDistributed(Dense)"),
    zero_output("zofm_seq", False, True, "Masking -> GRU(return_sequences, zero_output_for_mask=True): "
                "masked steps output 0; five samples: a padded tail, a hole, all masked, leading steps, "
                "none", float64=True, seed_gru=True),
    zero_output("zofm_last", False, False, "Masking -> GRU(zero_output_for_mask=True), last output: 0 "
                "where the last step is masked", seed_gru=True),
    zero_output("zofm_bwd_seq", True, True, "Masking -> GRU(go_backwards, return_sequences, "
                "zero_output_for_mask=True)", float64=True, seed_gru=True),
    zero_output("zofm_bwd_last", True, False, "Masking -> GRU(go_backwards, zero_output_for_mask=True), "
                "last output: 0 where the first step is masked", seed_gru=True),
    Case("zofm_state", b_zofm_state, [("masked5", (T, D))],
         "functional: Masking -> GRU(return_sequences, return_state, zero_output_for_mask=True): the "
         "sequence has 0 at masked steps, the state carries", batch=5, seed_gru=True),
    Case("zofm_embed_td", b_zofm_embed_td, [("ids", (T,))],
         "Embedding(mask_zero) -> GRU(return_sequences, zero_output_for_mask=True) -> "
         "TimeDistributed(Dense): masked steps give the Dense's bias"),
    Case("zofm_bidi_last", b_zofm_bidi(False, True), [("masked5", (T, D))],
         "Masking -> Bidirectional(GRU(zero_output_for_mask=True)), last outputs: Bidirectional sets "
         "zero_output_for_mask to return_sequences (False)", batch=5, seed_gru=True),
    Case("zofm_bidi_seq", b_zofm_bidi(True, False), [("masked5", (T, D))],
         "Masking -> Bidirectional(GRU(return_sequences, zero_output_for_mask=False)): Bidirectional sets "
         "it to return_sequences (True)", batch=5, float64=True),
    Case("zofm_stack", b_zofm_stack, [("masked5", (T, D))],
         "Masking -> GRU(return_sequences, zero_output_for_mask) -> GRU(go_backwards, return_sequences, "
         "zero_output_for_mask)", batch=5),
    norm_gru("ln_axis1", (T, D), [ln(1, "ln")], "LayerNormalization(axis=1): over the time axis",
             float64=True),
    norm_gru("ln_axis_m2", (T, D), [ln(-2, "ln", center=False)],
             "LayerNormalization(axis=-2, center=False)"),
    norm_gru("ln_axes_12", (T, D), [ln([1, 2], "ln", epsilon=1e-5)],
             "LayerNormalization(axis=[1, 2], epsilon 1e-5): over a whole sample", float64=True),
    norm_gru("ln_axes_21", (T, D), [ln([2, 1], "ln")],
             "LayerNormalization(axis=[2, 1]): the axes listed out of order (gamma (4, 6))"),
    norm_gru("ln_axes_mixed", (T, D), [ln([-1, 1], "ln", scale=False)],
             "LayerNormalization(axis=[-1, 1], scale=False): a negative and a positive axis"),
    norm_gru("ln_rank6", (2, 3, 2, 2, 3), [ln([1, 2], "ln_a"), ln([2, 4], "ln_b", center=False),
                                           ln([-3, -1], "ln_c", scale=False)],
             "LayerNormalization over axes [1, 2], [2, 4] and [-3, -1] of (B, 2, 3, 2, 2, 3) -> "
             "Reshape((6, 12)) -> GRU", reshape=(6, 12), float64=True),
    norm_gru("bn_axis1", (T, D), [bn(1, "bn"), bn(-2, "bn_2", center=False)],
             "BatchNormalization(axis=1) and (axis=-2, center=False): per time step", float64=True),
    norm_gru("bn_axes_12", (T, D), [bn([1, 2], "bn", scale=False)],
             "BatchNormalization(axis=[1, 2], scale=False): per (step, feature); tf-keras only",
             parts=("tfkeras",), float64=True),
    norm_gru("bn_rank4", (4, 5, 3), [bn(2, "bn"), bn(1, "bn_2", scale=False), bn(3, "bn_3")],
             "BatchNormalization over axis 2, 1 and 3 of (B, 4, 5, 3) -> Reshape((4, 15)) -> GRU",
             reshape=(4, 15), float64=True),
    *[Case(f"merge_broadcast_{kind.lower()}", b_merge_broadcast(kind), [("float", (T, D)), ("float", (3,))],
           f"functional: {kind} of a GRU sequence (B, 6, 6) and a Dense vector (B, 6), broadcast as Keras "
           f"does (expanded at axis 1); then {kind} of a (B, 6, 1) gate, that result and the vector",
           float64=kind == "Multiply")
      for kind in ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]],
    Case("no_gru", b_no_gru, [("float", (T, D))],
         "no recurrent layer: Dense(relu) -> GlobalAveragePooling1D -> Dense(softmax)"),
    Case("no_gru_two_inputs", b_no_gru_two_inputs, [("float", (T, 3)), ("float", (T, 2))],
         "no recurrent layer, two inputs: Concatenate -> Conv1D -> Flatten -> Dense"),
    Case("gap_keepdims_masked", b_gap_keepdims_masked, [("masked", (T, D))],
         "Masking -> GRU(return_sequences) -> GlobalAveragePooling1D(keepdims=True) (masked steps left out; "
         "no mask after) -> GRU", float64=True),
    Case("gmp_keepdims", b_gmp_keepdims, [("float", (T, D))],
         "GRU(return_sequences) -> GlobalMaxPooling1D(keepdims=True) -> Flatten -> Dense"),
    Case("global_channels_first", b_global_channels_first, [("float", (T, D))],
         "functional: GRU(6, return_sequences) -> GlobalAveragePooling1D(channels_first) over the units; "
         "GlobalMaxPooling1D(channels_first, keepdims) -> GRU; Reshape((2, 3, 6)) -> GlobalAveragePooling2D("
         "channels_first, keepdims) and GlobalMaxPooling2D(channels_first)", float64=True),
    Case("cf_shapes", b_cf_shapes, [("float", (T, D))],
         "Reshape((2, 3, 4)) -> channels_first ZeroPadding2D(((1, 0), (0, 2))) -> Cropping2D(((0, 1), (1, 0))) "
         "-> UpSampling2D((2, 1)) -> UpSampling2D((1, 2), bilinear) -> Reshape((12, 10)) -> GRU", float64=True),
    Case("cf_pad1d", b_cf_pad1d, [("float", (T, D))],
         "GRU(5, return_sequences) -> ZeroPadding1D((1, 2), channels_first: pads the units) -> GRU; Keras 3 "
         "only (tf-keras's ZeroPadding1D has no data_format)", parts=("keras3",)),
    Case("unitnorm", b_unitnorm, [("masked", (T, D))],
         "Masking -> UnitNormalization (the mask passes) -> GRU(return_sequences) -> UnitNormalization over "
         "[1, 2] and over 1 -> GRU", float64=True),
    Case("groupnorm", b_groupnorm, [("float", (T, D))],
         "Dense(8) -> GroupNormalization(2, epsilon 0.01) -> GRU(6, return_sequences) -> GroupNormalization "
         "(3 groups on axis 1, center=False; groups=-1, scale=False; 1 group) -> GRU", float64=True),
    Case("groupnorm_masked", b_groupnorm_masked, [("masked", (T, D))],
         "Masking -> GroupNormalization(2) (Keras 3: the mask passes, the moments ignore it) -> GRU; "
         "Keras 3 only: tf-keras broadcasts the mask against the input and fails", parts=("keras3",)),
    Case("rmsnorm", b_rmsnorm, [("masked", (T, D))],
         "Masking -> RMSNormalization (drops the mask) -> GRU(return_sequences) -> RMSNormalization(axis=[1, 2], "
         "epsilon 1e-3) -> GRU; Keras 3 only", parts=("keras3",), float64=True),
    Case("conv1d_transpose", b_conv1d_transpose, [("float", (T, 3))],
         "Conv1DTranspose same strides 2; valid strides 3 output_padding 1 no bias tanh; same relu "
         "-> GRU -> Dense", float64=True),
    Case("conv1d_transpose_b", b_conv1d_transpose_b, [("float", (T, 3))],
         "Conv1DTranspose same with an even kernel; same strides 2 output_padding 1; valid strides 3 above "
         "the kernel -> GRU(return_sequences)"),
    Case("einsum", b_einsum, [("float", (T, D))],
         "GRU(return_sequences) -> EinsumDense 'abc,cd->abd' (bias d), '...b,bc->...c' (tanh), "
         "'abc,cde->abde' (bias de) -> Reshape -> GRU", float64=True),
    Case("einsum_b", b_einsum_b, [("float", (T, D))],
         "functional: GRU(return_sequences) -> EinsumDense 'ab...,bc->ac...' (bias c) -> GRU; "
         "'abc,bcd->abd' (a kernel per step, bias bd) -> GRU; 'abc,cd->ad' (summed over time, relu)"),
    Case("cnn_shapes", b_cnn_shapes, [("float", (4, 6, 6, 2))],
         "TimeDistributed ZeroPadding2D(((1, 0), (2, 1))) -> Conv2D(relu) -> UpSampling2D((2, 1)) -> "
         "UpSampling2D((1, 3), bilinear) -> "
         "Cropping2D(((1, 2), (0, 1))) -> GlobalAveragePooling2D(keepdims=True) -> Flatten -> GRU -> Dense",
         float64=True),
    Case("cnn_gmp2d", b_cnn_gmp2d, [("float", (4, 6, 6, 2))],
         "TimeDistributed Conv2D(same) -> ZeroPadding2D(1) -> Cropping2D(1) -> GlobalMaxPooling2D -> "
         "GRU(return_sequences)"),
    Case("image_layers", b_image_layers, [("float", (6, 6, 2))],
         "functional: ZeroPadding2D(1) -> Cropping2D(((0, 1), (1, 0))) -> UpSampling2D(2) -> "
         "UpSampling2D((3, 2), bilinear) -> Conv2D(strides 2) "
         "-> Reshape -> GRU, concatenated with GlobalMaxPooling2D -> Dense; GlobalAveragePooling2D(keepdims=True)",
         float64=True),
    Case("seq_shapes", b_seq_shapes, [("float", (T, D))],
         "ZeroPadding1D((1, 2)) -> Cropping1D((2, 0)) -> UpSampling1D(2) -> GRU(return_sequences) -> "
         "ZeroPadding1D(1) -> Cropping1D() -> UpSampling1D(3) -> GRU", float64=True),
    Case("nested_siamese", b_nested_siamese, [("float", (T, D)), ("float", (T, D))],
         "functional model 'encoder' (GRU -> BatchNormalization -> Dense) called on two inputs -> Subtract -> "
         "GRU -> Dense; the encoder's first call is an output too", float64=True),
    Case("nested_seq", b_nested_seq, [("float", (T, D))],
         "Sequential: Dense -> Sequential(Bidirectional(GRU) -> Sequential(Dense relu)) -> GRU -> Dense"),
    Case("nested_masked", b_nested_masked, [("ids", (T,))],
         "Embedding(mask_zero) -> functional model (GRU -> TimeDistributed(Dense) -> GRU) -> Dense: "
         "the mask goes into the nested model"),
    Case("nested_enc_dec", b_nested_enc_dec, [("float", (T, D))],
         "functional: model 'encoder' (GRU giving sequence and state) -> model 'decoder' (GRU with "
         "initial_state -> Dense) and a Sequential head on the state"),
    Case("activation_objects", b_activation_objects, [("float", (T, D))],
         "Dense(activation=LeakyReLU(0.1) named 'relu'), Dense(activation=ReLU(max_value=0.8, threshold=0.1)), "
         "Dense(activation=ELU(0.5)): layer objects as activations", scales={"dense": 1.5, "dense_2": 1.5, "dense_3": 1.5}),
]
CASES += [
    Case("attention_dot", b_attention_dot, [("float", (T, D))],
         "Attention(use_scale) on a Dense query and a GRU sequence, return_attention_scores", float64=True),
    Case("attention_concat_causal", b_attention_concat_causal, [("ids", (T,))],
         "Embedding(mask_zero) -> GRU -> Attention(score_mode='concat', use_scale)([q, v, k], "
         "use_causal_mask) -> GRU", float64=True),
    Case("attention_masked", b_attention_plain_masked, [("masked", (T, D))],
         "Masking -> GRU -> Attention() -> GRU: the value and the query mask"),
    Case("additive_attention", b_additive_attention, [("ids", (T,))],
         "Embedding(mask_zero) -> GRU -> AdditiveAttention(use_scale True / False) on [q, v] and [q, v, k]",
         float64=True),
    Case("mha", b_mha, [("ids", (T,))],
         "Embedding(mask_zero) -> GRU -> MultiHeadAttention(2 heads, key_dim 3, value_dim 4) self-attention",
         float64=True),
    Case("mha_padded_rows", b_mha_padded_rows, [("ids", (T,))],
         "Embedding(mask_zero) -> GRUs -> MultiHeadAttention layers as outputs (padded query rows included): "
         "two on one GRU, the one returning its scores run first by Keras 3, and one on a GRU of its own",
         float64=True),
    Case("mha_cross", b_mha_cross, [("float", (T, D))],
         "MultiHeadAttention(query, value, key=...) with output_shape, use_bias=False, use_causal_mask, "
         "return_attention_scores; then one with key_dim only", float64=True),
    Case("dot", b_dot, [("float", (T, D))],
         "Dot(axes=2), Dot(axes=(1, 1), normalize) of two GRU sequences; Dot(normalize) of two vectors",
         float64=True),
]

CASES += [
    Case("normalization", b_normalization, [("float", (T, D), 2.0)],
         "Normalization adapted (axis -1; axis (1, 2)), given mean/variance with invert; Rescaling(0.5, "
         "offset=-0.25) and Rescaling(list per feature)", float64=True),
    Case("lookup_encoding", b_lookup_encoding, [("ids", (T,)), ("ids", (1,))],
         "IntegerLookup(vocabulary, mask_token=0) -> Embedding(mask_zero) -> GRU; IntegerLookup -> "
         "CategoryEncoding count and multi_hot; CategoryEncoding one_hot of a (B, 1) id", float64=True),
    Case("separable_conv", b_separable, [("float", (T + 4, 3))],
         "SeparableConv1D same (depth_multiplier 2) and strided (no bias, tanh); DepthwiseConv1D valid "
         "(depth_multiplier 3, relu) and same (dilation 2, no bias) -> GRU", float64=True),
    Case("separable_causal", b_separable_causal, [("float", (T, 3))],
         "SeparableConv1D(padding='causal', dilation 2) -> GRU; tf-keras only", parts=("tfkeras",)),
    Case("mha_then_attention", b_mha_then_attention, [("ids", (T,))],
         "Embedding(mask_zero) -> GRU -> MultiHeadAttention(use_causal_mask) -> Attention([mha, gru]) -> "
         "Dot -> Normalization -> GRU: Keras 3 takes the GRU's mask off at the MultiHeadAttention",
         float64=True),
    Case("attention_shared", b_attention_shared, [("float", (T, D))],
         "one Attention called twice (use_causal_mask and return_attention_scores, then plain) and one "
         "MultiHeadAttention called twice (causal, then not): call arguments per call, weights shared",
         float64=True),
    Case("td_avgpool", b_td_avgpool, [("float", (4, 6, 6, 2))],
         "TimeDistributed(Conv2D, AveragePooling2D, SpatialDropout2D, AveragePooling2D same) -> GRU"),
]


# ---------------------------------------------------------------- LSTM, SimpleRNN, RNN over cells
def np_activation(name, part):
    """Keras's element-wise activations in float64 NumPy; hard_sigmoid by the Keras that runs it
    (tf-keras clip(0.2x + 0.5), Keras 3 clip(x / 6 + 0.5))."""
    if name == "hard_sigmoid":
        slope = 0.2 if part == "tfkeras" else 1 / 6
        return lambda v: np.clip(slope * v + 0.5, 0.0, 1.0)
    return {"tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "relu": lambda v: np.maximum(v, 0.0),
            "softsign": lambda v: v / (1 + np.abs(v)), "linear": lambda v: v,
            "elu": lambda v: np.where(v > 0, v, np.expm1(np.minimum(v, 0.0)))}[name]


def np_lstm(x, kernel, recurrent, bias, act="tanh", ract="sigmoid", part="tfkeras", go_backwards=False,
            return_sequences=False):
    """A Keras LSTM in float64: gate blocks [i | f | c | o] along 4U; c = f*c + i*act(zc), h = o*act(c).
    With go_backwards the returned sequence is in processing order, as Keras returns it."""
    x = np.asarray(x, "float64")
    units = recurrent.shape[0]
    a, ra = np_activation(act, part), np_activation(ract, part)
    b = np.zeros(4 * units) if bias is None else bias.astype("float64")
    h = np.zeros((x.shape[0], units))
    c = np.zeros_like(h)
    outputs = []
    for t in (range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])):
        z = x[:, t] @ kernel.astype("float64") + h @ recurrent.astype("float64") + b
        zi, zf, zc, zo = np.split(z, 4, axis=1)
        c = ra(zf) * c + ra(zi) * a(zc)
        h = ra(zo) * a(c)
        outputs.append(h)
    return np.stack(outputs, 1) if return_sequences else h


def np_cudnn_lstm(x, kernel, recurrent, bias, go_backwards=False, return_sequences=False):
    """CuDNNLSTM from its stored arrays, the way `_process_batch` hands them to cuDNN: each gate's (D, U)
    kernel block and (U, U) recurrent block flattened in C order (canonical_to_params, no transpose) is
    read by cuDNN as a row-major (U, D) / (U, U) matrix W with gate = W x; the (8U,) bias is an input-side
    set then a recurrent-side set, both added. Gates i, f, c, o; sigmoid and tanh."""
    units = recurrent.shape[0]
    w = [blk.reshape(units, -1).T for blk in np.hsplit(kernel.astype("float64"), 4)]
    r = [blk.reshape(units, units).T for blk in np.hsplit(recurrent.astype("float64"), 4)]
    b_in, b_rec = np.split(bias.astype("float64"), 2)
    return np_lstm(x, np.hstack(w), np.hstack(r), b_in + b_rec, "tanh", "sigmoid", go_backwards=go_backwards,
                   return_sequences=return_sequences)


def _close(got, want, dtype, what):
    tol = 1e-11 if dtype == "float64" else 2e-5
    err = float(np.max(np.abs(np.asarray(got, "float64") - want)))
    assert err < tol, f"{what}: Keras differs from NumPy by {err}"
    return err


def _lstm_weights(layer):
    w = layer.get_weights()
    return w[0], w[1], (w[2] if len(w) > 2 else None)


def check_lstm_stack(model, saved, xs, ys, k):
    h = np_lstm(xs[0], *_lstm_weights(model.get_layer("lstm")), return_sequences=True)
    h = np_lstm(h, *_lstm_weights(model.get_layer("lstm_2")))
    kernel, bias = model.get_layer("head").get_weights()
    _close(ys[0], h @ kernel.astype("float64") + bias, str(ys[0].dtype), "lstm_stack")


LSTM_OPTION_BRANCHES = ["lstm_relu", "lstm_nobias", "lstm_bwd", "lstm_nfb", "lstm_softsign"]


def check_lstm_options(model, saved, xs, ys, k):
    """Every branch against NumPy, and the hard_sigmoid branch not under the other Keras's definition."""
    def branch(name, part):
        layer = model.get_layer(name)
        c = layer.get_config()
        out = np_lstm(xs[0], *_lstm_weights(layer), c["activation"], c["recurrent_activation"], part,
                      c["go_backwards"], c["return_sequences"])
        return out.reshape(out.shape[0], -1)
    want = np.concatenate([branch(n, k.part) for n in LSTM_OPTION_BRANCHES], axis=1)
    _close(ys[0], want, str(ys[0].dtype), "lstm_options")
    other = branch("lstm_relu", "keras3" if k.part == "tfkeras" else "tfkeras")
    gap = float(np.max(np.abs(ys[0][:, :other.shape[1]] - other)))
    assert gap > 1e-3, f"lstm_options: the other hard_sigmoid fits too ({gap})"


def check_cudnn_lstm(model, saved, xs, ys, k):
    cud = saved.get_layer("cudnn")
    h = np_cudnn_lstm(xs[0], *cud.get_weights())
    kernel, bias = saved.get_layer("head").get_weights()
    _close(ys[0], h @ kernel.astype("float64") + bias, "float32", "cudnn_lstm")


def check_bidi_cudnn_lstm(model, saved, xs, ys, k):
    bi = saved.get_layer("bi")
    fw = np_cudnn_lstm(xs[0], *bi.forward_layer.get_weights(), return_sequences=True)
    bw = np_cudnn_lstm(xs[0], *bi.backward_layer.get_weights(), go_backwards=True, return_sequences=True)
    h = np.concatenate([fw, bw[:, ::-1]], axis=-1)
    _close(ys[0], np_cudnn_lstm(h, *saved.get_layer("cudnn").get_weights()), "float32", "bidi_cudnn_lstm")


def b_lstm_stack(k):
    return seq(k, (T, D), [k.L.LSTM(5, return_sequences=True, name="lstm"), k.L.LSTM(4, name="lstm_2"),
                           k.L.Dense(2, name="head")])


def b_lstm_gru_mix(k):
    return seq(k, (T, D), [k.gru(6, return_sequences=True, name="gru"), k.L.LSTM(5, name="lstm"),
                           k.L.Dense(3, name="head")])


def b_lstm_bn_gru(k):
    return seq(k, (T, D), [k.L.LSTM(5, return_sequences=True, name="lstm"), k.L.BatchNormalization(name="bn"),
                           k.gru(4, name="gru"), k.L.Dense(1, name="head")])


def b_lstm_masked(k):
    return seq(k, (T, D), [k.L.Masking(0.0, name="masking"), k.L.LSTM(5, return_sequences=True, name="lstm"),
                           k.L.LSTM(3, name="lstm_2")])


def b_lstm_embed_mask(k):
    return seq(k, (T,), [k.L.Embedding(VOCAB, 5, mask_zero=True, name="embed"),
                         k.L.LSTM(4, go_backwards=True, return_sequences=True, name="lstm"),
                         k.L.LSTM(3, go_backwards=True, name="lstm_2")], dtype="int32")


def b_lstm_options(k):
    L = k.L
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    a = L.LSTM(5, activation="relu", recurrent_activation="hard_sigmoid", name="lstm_relu")(x)
    b = L.LSTM(4, use_bias=False, name="lstm_nobias")(x)
    c = L.Flatten(name="flatten")(L.LSTM(3, go_backwards=True, return_sequences=True, name="lstm_bwd")(x))
    d = L.LSTM(3, unit_forget_bias=False, activation="elu", name="lstm_nfb")(x)
    e = L.LSTM(6, recurrent_activation="sigmoid", activation="softsign", name="lstm_softsign")(x)
    return k.Model(x, L.Concatenate(name="concat")([a, b, c, d, e]))


def b_lstm_state(k):
    L = k.L
    x_enc = k.Input(shape=(T, D), dtype=k.floatx, name="x_enc")
    x_dec = k.Input(shape=(T, 3), dtype=k.floatx, name="x_dec")
    _, h, c = L.LSTM(5, return_state=True, name="encoder")(x_enc)
    s = L.LSTM(5, return_sequences=True, name="decoder")(x_dec, initial_state=[h, c])
    return k.Model([x_enc, x_dec], [L.Dense(2, name="head")(s), h, c])


def b_lstm_initial_input(k):
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    h0 = k.Input(shape=(5,), dtype=k.floatx, name="h0")
    c0 = k.Input(shape=(5,), dtype=k.floatx, name="c0")
    s, h, c = k.L.LSTM(5, return_sequences=True, return_state=True, name="lstm")(x, initial_state=[h0, c0])
    return k.Model([x, h0, c0], [s, h, c])


def bidi_lstm(mode, masked, head, what, **case_kw):
    """[Masking ->] Bidirectional(LSTM(4, return_sequences), merge_mode) -> LSTM(3) or
    GlobalAveragePooling1D -> Dense(2); merge_mode None: the two sequences are the outputs."""
    def build(k):
        L = k.L
        x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
        h = L.Masking(0.0, name="masking")(x) if masked else x
        bi = L.Bidirectional(L.LSTM(4, return_sequences=True), merge_mode=mode, name="bi")(h)
        if mode is None:
            return k.Model(x, list(bi))
        pooled = L.LSTM(3, name="lstm") if head == "lstm" else L.GlobalAveragePooling1D(name="gap")
        return k.Model(x, L.Dense(2, name="head")(pooled(bi)))
    return Case(f"bidi_lstm_{str(mode).lower()}", build, [("masked" if masked else "float", (T, D))], what,
                mask_matters=masked, **case_kw)


def b_bidi_lstm_state(k):
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    out, h_fw, c_fw, h_bw, c_bw = k.L.Bidirectional(k.L.LSTM(4, return_state=True), name="bi")(x)
    return k.Model(x, [out, h_fw, c_fw, h_bw, c_bw])


def b_simple_rnn(k):
    return seq(k, (T, D), [k.L.SimpleRNN(5, return_sequences=True, name="rnn"),
                           k.L.SimpleRNN(3, go_backwards=True, name="rnn_2"), k.L.Dense(2, name="head")])


def b_simple_rnn_masked(k):
    return seq(k, (T, D), [k.L.Masking(0.0, name="masking"),
                           k.L.SimpleRNN(4, return_sequences=True, activation="relu", name="rnn"),
                           k.L.Bidirectional(k.L.SimpleRNN(3), name="bi")])


def b_simple_rnn_state(k):
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    s, h = k.L.SimpleRNN(4, return_sequences=True, return_state=True, name="encoder")(x)
    d = k.L.SimpleRNN(4, return_sequences=True, name="decoder")(s, initial_state=[h])
    return k.Model(x, [s, h, d])


def b_rnn_cells(k):
    L = k.L
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    a = L.RNN(L.GRUCell(5), return_sequences=True, name="rnn_gru")(x)
    b = L.RNN(L.GRUCell(5, reset_after=False), return_sequences=True, name="rnn_gru_ra0")(x)
    c = L.RNN(L.LSTMCell(4), name="rnn_lstm")(a)
    d = L.RNN(L.SimpleRNNCell(3), go_backwards=True, name="rnn_simple")(b)
    return k.Model(x, [a, b, c, d])


def b_rnn_stacked_cells(k):
    L = k.L
    x = k.Input(shape=(T, D), dtype=k.floatx, name="x")
    out, gru_h, (lstm_h, lstm_c) = L.RNN([L.GRUCell(5), L.LSTMCell(4)], return_sequences=True,
                                         return_state=True, name="stacked")(x)
    last = L.RNN(L.StackedRNNCells([L.LSTMCell(3), L.GRUCell(4, reset_after=False)]), name="stacked_2")(x)
    return k.Model(x, [out, gru_h, lstm_h, lstm_c, last])


def b_rnn_cells_masked(k):
    return seq(k, (T, D), [k.L.Masking(0.0, name="masking"),
                           k.L.RNN(k.L.LSTMCell(4), return_sequences=True, name="rnn_lstm"),
                           k.L.RNN(k.L.GRUCell(3), name="rnn_gru")])


def b_lstm_attention(k):
    L = k.L
    ids = k.Input(shape=(T,), dtype="int32", name="ids")
    s = L.LSTM(6, return_sequences=True, name="lstm")(L.Embedding(VOCAB, 5, mask_zero=True, name="embed")(ids))
    a = L.Attention(name="att")([s, s])
    return k.Model(ids, L.Dense(1, activation="sigmoid", name="head")(L.GlobalAveragePooling1D(name="gap")(a)))


def b_cudnn_lstm(k):
    return seq(k, (T, D), [k.cudnn_lstm(5, name="cudnn"), k.L.Dense(2, name="head")])


def b_bidi_cudnn_lstm(k):
    return seq(k, (T, D), [k.L.Bidirectional(k.cudnn_lstm(4, return_sequences=True), name="bi"),
                           k.cudnn_lstm(3, name="cudnn")])


CASES += [
    Case("lstm_stack", b_lstm_stack, [("float", (T, D))],
         "LSTM(5, return_sequences) -> LSTM(4) -> Dense(2)", float64=True, check=check_lstm_stack),
    Case("lstm_gru_mix", b_lstm_gru_mix, [("float", (T, D))],
         "GRU(6, return_sequences) -> LSTM(5) -> Dense(3)"),
    Case("lstm_bn_gru", b_lstm_bn_gru, [("float", (T, D))],
         "LSTM(5, return_sequences) -> BatchNormalization (moving statistics random) -> GRU(4) -> Dense(1)"),
    Case("lstm_masked", b_lstm_masked, [("masked", (T, D))],
         "Masking -> LSTM(5, return_sequences) -> LSTM(3): masked steps repeat the previous output and "
         "state; the mask passes into the second LSTM", float64=True, mask_matters=True),
    Case("lstm_embed_mask", b_lstm_embed_mask, [("ids", (T,))],
         "Embedding(mask_zero) -> LSTM(4, go_backwards, return_sequences) -> LSTM(3, go_backwards): the "
         "first LSTM returns its sequence in processing (reversed) order and passes the mask on unreversed; "
         "the second reverses both again", mask_matters=True),
    Case("lstm_options", b_lstm_options, [("float", (T, D))],
         "functional: five LSTM branches of one input -> Concatenate: activation relu with "
         "recurrent_activation hard_sigmoid (each Keras's own definition); use_bias=False; go_backwards with "
         "return_sequences -> Flatten; unit_forget_bias=False (an initializer only) with elu; softsign with "
         "sigmoid", float64=True, check=check_lstm_options,
         scales={"lstm_relu": {"kernel": 0.5, "recurrent_kernel": 0.2, "bias": 0.5}}),
    Case("lstm_state", b_lstm_state, [("float", (T, D)), ("float", (T, 3))],
         "functional: encoder LSTM(5, return_state) gives [out, h, c]; decoder LSTM(5, return_sequences) on "
         "a second input with initial_state=[h, c] -> Dense(2); outputs the decoder's Dense, h and c"),
    Case("lstm_initial_input", b_lstm_initial_input, [("float", (T, D)), ("float", (5,)), ("float", (5,))],
         "functional: three inputs (sequence, h0, c0); LSTM(5, return_sequences, return_state) with "
         "initial_state=[h0, c0]; outputs [sequence, h, c]"),
    bidi_lstm("concat", True, "lstm", "Masking -> Bidirectional(LSTM(4, return_sequences), concat): masked steps "
              "output 0, the mask passes -> LSTM(3) -> Dense(2)", float64=True),
    bidi_lstm("sum", False, "lstm", "Bidirectional(LSTM(4, return_sequences), sum) -> LSTM(3) -> Dense(2)"),
    bidi_lstm("mul", False, "gap", "Bidirectional(LSTM(4, return_sequences), mul) -> GlobalAveragePooling1D "
              "-> Dense(2)"),
    bidi_lstm("ave", True, "gap", "Masking -> Bidirectional(LSTM(4, return_sequences), ave) -> "
              "GlobalAveragePooling1D (masked steps left out) -> Dense(2)"),
    bidi_lstm(None, False, None, "functional: Bidirectional(LSTM(4, return_sequences), merge_mode=None): "
              "the forward and the backward sequence (in input order) are the two outputs"),
    Case("bidi_lstm_state", b_bidi_lstm_state, [("float", (T, D))],
         "functional: Bidirectional(LSTM(4, return_state)) -> five outputs [out, h_fw, c_fw, h_bw, c_bw]"),
    Case("simple_rnn", b_simple_rnn, [("float", (T, D))],
         "SimpleRNN(5, return_sequences) -> SimpleRNN(3, go_backwards) -> Dense(2)", float64=True),
    Case("simple_rnn_masked", b_simple_rnn_masked, [("masked", (T, D))],
         "Masking -> SimpleRNN(4, return_sequences, relu) -> Bidirectional(SimpleRNN(3)) (last outputs)",
         mask_matters=True, scales={"rnn": 0.4}),
    Case("simple_rnn_state", b_simple_rnn_state, [("float", (T, D))],
         "functional: SimpleRNN(4, return_sequences, return_state) gives [sequence, h]; SimpleRNN(4, "
         "return_sequences) on that sequence with initial_state=[h]; outputs [sequence, h, second sequence]"),
    Case("rnn_cells", b_rnn_cells, [("float", (T, D))],
         "functional, four outputs: RNN(GRUCell(5), return_sequences) (reset_after=True) and "
         "RNN(GRUCell(5, reset_after=False), return_sequences) of the input; RNN(LSTMCell(4)) over the first; "
         "RNN(SimpleRNNCell(3), go_backwards) over the second", float64=True),
    Case("rnn_stacked_cells", b_rnn_stacked_cells, [("float", (T, D))],
         "functional: RNN([GRUCell(5), LSTMCell(4)], return_sequences, return_state) -> [out, gru_h, lstm_h, "
         "lstm_c] (Keras nests the LSTMCell's [h, c]); RNN(StackedRNNCells([LSTMCell(3), GRUCell(4, "
         "reset_after=False)])) spelled out, last output: five outputs"),
    Case("rnn_cells_masked", b_rnn_cells_masked, [("masked", (T, D))],
         "Masking -> RNN(LSTMCell(4), return_sequences) -> RNN(GRUCell(3))", mask_matters=True),
    Case("lstm_attention", b_lstm_attention, [("ids", (T,))],
         "functional: Embedding(mask_zero) -> LSTM(6, return_sequences) -> Attention()([lstm, lstm]) "
         "(query and value masks) -> GlobalAveragePooling1D -> Dense(1, sigmoid)", mask_matters=True),
    Case("cudnn_lstm", b_cudnn_lstm, [("float", (T, D))],
         "CuDNNLSTM(5) -> Dense(2), tf-keras only (compat v1 layer; it builds and saves on CPU but cannot "
         "run there): model.h5 holds the CuDNNLSTM (kernel (D, 4U) and recurrent_kernel (U, 4U) in cuDNN's "
         "per-gate layout, bias (8U,) input side then recurrent side, the halves different); y from the "
         "equivalent LSTM (tanh, sigmoid, per-gate transposed kernels, the two bias halves summed)",
         parts=("tfkeras",), cudnn=True, check=check_cudnn_lstm),
    Case("bidi_cudnn_lstm", b_bidi_cudnn_lstm, [("float", (T, D))],
         "Bidirectional(CuDNNLSTM(4, return_sequences)) -> CuDNNLSTM(3), tf-keras only; numbers from the "
         "equivalent LSTMs as for cudnn_lstm", parts=("tfkeras",), cudnn=True, check=check_bidi_cudnn_lstm),
]


for _c in CASES:
    if _c.base in ("bidi_concat", "merge_add", "conv_causal_d2_maxpool_same"):
        _c.float64 = True
    if _c.base in ("bidi_concat", "conv_causal_d2_maxpool_same", "merge_multiply"):
        _c.seed_gru = True


def instances():
    """(name, part, case, dtype, seed_gru) for every case each part makes, in order."""
    out = []
    for part, prefix in PARTS.items():
        for c in CASES:
            if part not in c.parts:
                continue
            out.append((f"{prefix}_{c.base}", part, c, "float32", False))
            if c.float64:
                out.append((f"{prefix}_{c.base}_f64", part, c, "float64", False))
            if c.seed_gru and part == "tfkeras":
                out.append((f"{prefix}_seedgru_{c.base}", part, c, "float32", True))
    return out


def rng_for(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def make_input(rng, kind, shape, dtype, scale=1.0, batch=B):
    if kind == "ids":
        ids = rng.integers(1, VOCAB, (batch,) + shape).astype(dtype)
        # 0 in a padded tail, in two leading steps and in one step in the middle
        ids[0, -2:] = 0
        ids[1, :2] = 0
        ids[2, 2:3] = 0
        return ids
    x = (rng.standard_normal((batch,) + shape) * scale).astype(dtype)
    if kind == "masked5":  # every pattern: a padded tail, a hole, all masked, leading steps, none
        x[0, -2:] = 0
        x[1, 2:4] = 0
        x[2, :] = 0
        x[3, :2] = 0
    if kind == "masked":
        x[0, -2:] = 0      # padded tail
        x[1, 2:4] = 0      # hole
        x[2, :1] = 0       # leading step
    if kind == "masked_b":  # overlaps "masked" in part, so that AND and OR of the two differ
        x[0, -3:-1] = 0
        x[1, 3:4] = 0
        x[2, :2] = 0
    return x


# ============================================================================ one Keras (child)
@contextlib.contextmanager
def reproducible_save(part):
    """Keras 3: fix what a .keras archive takes from the clock and from id() (metadata.json
    date_saved, the model.weights.h5 zip member time, config.json shared_object_id)."""
    if part != "keras3":
        yield
        return
    from keras.src.saving import saving_lib, serialization_lib
    import datetime as dt_mod

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


class Kit:
    """What a case's build function uses: layers, Input, Model, Sequential, a GRU factory."""


class NoMaskLayers:
    """keras.layers with every mask switched off: a Masking that matches nothing and
    Embedding(mask_zero=False). The twin of a mask_matters case, built with the same weights."""

    def __init__(self, layers):
        self._layers = layers

    def __getattr__(self, name):
        made = getattr(self._layers, name)
        if name == "Masking":
            return lambda *args, **kw: made(1e9, **{n: v for n, v in kw.items() if n != "mask_value"})
        if name == "Embedding":
            return lambda *args, **kw: made(*args, **dict(kw, mask_zero=False))
        return made


def part_main(part, names, staging):
    import h5py
    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    if part == "tfkeras":
        assert os.environ.get("TF_USE_LEGACY_KERAS") == "1"
        import tf_keras as keras
        from tf_keras.src.layers.rnn import gru_lstm_utils, gru_v1
        from tf_keras.src.layers.rnn.cudnn_lstm import CuDNNLSTM
        from tf_keras.src.saving.legacy import hdf5_format
        set_floatx, clear = keras.backend.set_floatx, keras.backend.clear_session
        version, suffix = keras.__version__, "h5"
    else:
        assert os.environ.get("TF_USE_LEGACY_KERAS") is None
        import keras
        assert keras.backend.backend() == "tensorflow"
        set_floatx, clear = keras.config.set_floatx, keras.backend.clear_session
        version, suffix = keras.__version__, "keras"

    def kit(dtype, seed_gru, cudnn=False, nomask=False):
        k = Kit()
        k.L, k.Input, k.Model, k.Sequential, k.floatx = (keras.layers, keras.Input, keras.Model,
                                                          keras.Sequential, dtype)
        k.part = part
        if nomask:
            k.L = NoMaskLayers(keras.layers)
        if part == "tfkeras":  # the CuDNNLSTM that is saved, or the LSTM that computes what it would
            k.cudnn_lstm = (CuDNNLSTM if cudnn else
                            lambda units, **kw: keras.layers.LSTM(units, activation="tanh",
                                                                  recurrent_activation="sigmoid", **kw))
        k.gru = (lambda units, **kw: gru_v1.GRU(units, **kw)) if seed_gru else keras.layers.GRU
        if part == "tfkeras":
            k.leaky_relu = lambda a: keras.layers.LeakyReLU(alpha=a, name="leaky")
        else:
            k.leaky_relu = lambda a: keras.layers.LeakyReLU(negative_slope=a, name="leaky")
        return k

    def randomize(model, rng, scales, dtype):
        """Every parameter random and non-trivial: N(0,1) * scale; gamma 1 + N(0,1) * 0.5,
        moving_variance in [0.5, 1.5)."""
        for layer in model.layers:
            if not layer.weights:
                continue
            if hasattr(layer, "layers"):  # a model used as a layer
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

    def ids_dtype(model, i):
        """The integer dtype the model's input i declares (int32 or int64)."""
        dtype = model.inputs[i].dtype
        return np.dtype(getattr(dtype, "name", dtype))  # tf.DType in tf-keras, a string in Keras 3

    def file_dtypes(path):
        """The dtypes of every dataset in a saved model (inside the zip for .keras)."""
        found = set()

        def visit(_, obj):
            if isinstance(obj, h5py.Dataset) and obj.dtype.kind == "f":
                found.add(str(obj.dtype))
        if path.suffix == ".keras":
            with zipfile.ZipFile(path) as z:
                data = z.read("model.weights.h5")
            with h5py.File(io.BytesIO(data), "r") as f:
                f.visititems(visit)
        else:
            with h5py.File(path, "r") as f:
                f.visititems(visit)
        return found

    def lstms(model):
        """The LSTM or CuDNNLSTM layers of a Sequential model in order, a Bidirectional's forward
        layer before its backward layer."""
        found = []
        for layer in model.layers:
            if hasattr(layer, "forward_layer"):
                found += [layer.forward_layer, layer.backward_layer]
            elif layer.__class__.__name__ in ("LSTM", "CuDNNLSTM"):
                found.append(layer)
        return found

    def cudnn_biases(model, rng):
        """Each LSTM's bias becomes the float32 sum of a random input-side and recurrent-side half, as
        tf-keras merges a CuDNNLSTM's (8U,) bias; returns the halves, one (8U,) array per LSTM."""
        halves = []
        for layer in lstms(model):
            kernel, recurrent, _ = layer.get_weights()
            both = (rng.standard_normal(8 * layer.units) * WSCALE).astype("float32")
            halves.append(both)
            layer.set_weights([kernel, recurrent, both[:4 * layer.units] + both[4 * layer.units:]])
        return halves

    def to_cudnn(model, saved, halves):
        """Fill the CuDNNLSTM model from the LSTM one: per gate, the (D, U) input block is stored as
        the C-order bytes of its (U, D) transpose, the recurrent block transposed; checked against
        tf-keras's own converter (_convert_rnn_weights) both ways and against the parameters tf-keras's
        LSTM hands cuDNN on a GPU (lstm.gpu_lstm)."""
        for layer, cud_layer in zip(model.layers, saved.layers):
            if not hasattr(layer, "forward_layer") and layer.__class__.__name__ != "LSTM":
                cud_layer.set_weights(layer.get_weights())
        for layer, cud_layer, both in zip(lstms(model), lstms(saved), halves):
            assert cud_layer.__class__.__name__ == "CuDNNLSTM"
            kernel, recurrent, bias = layer.get_weights()
            units, dim = layer.units, kernel.shape[0]
            cud = [np.hstack([blk.T.reshape(blk.shape, order="C") for blk in np.hsplit(kernel, 4)]),
                   np.hstack([blk.T for blk in np.hsplit(recurrent, 4)]), both]
            assert not np.array_equal(cud[0], kernel) and not np.array_equal(both[:4 * units], both[4 * units:])
            back = hdf5_format._convert_rnn_weights(layer, [a.copy() for a in cud])
            assert all(np.array_equal(a, b) for a, b in zip(back, [kernel, recurrent, bias])), "from cuDNN"
            forth = hdf5_format._convert_rnn_weights(cud_layer, [kernel, recurrent, bias])
            assert np.array_equal(forth[0], cud[0]) and np.array_equal(forth[1], cud[1]), "to cuDNN"
            # CuDNNLSTM._process_batch's parameters (blocks as stored, no transpose) against LSTM's GPU
            # path (Keras blocks transposed, zeros for the input-side bias): the same weights, the same
            # per-gate bias sums.
            blocks = (lambda a: [a[:, g * units:(g + 1) * units] for g in range(4)])
            p_cud = gru_lstm_utils.canonical_to_params(
                weights=blocks(cud[0]) + blocks(cud[1]), shape=tf.constant([-1]),
                biases=[both[j * units:(j + 1) * units] for j in range(8)]).numpy()
            p_gpu = gru_lstm_utils.canonical_to_params(
                weights=blocks(kernel) + blocks(recurrent), shape=tf.constant([-1]), transpose_weights=True,
                biases=np.split(np.concatenate([np.zeros_like(bias), bias]), 8)).numpy()
            n = 4 * units * (dim + units)
            assert np.array_equal(p_cud[:n], p_gpu[:n]), "cuDNN weights"
            assert np.array_equal(p_cud[n:].reshape(2, -1).sum(0), p_gpu[n:].reshape(2, -1).sum(0)), "bias"
            cud_layer.set_weights(cud)

    entries = []
    for name, _, case, dtype, seed_gru in [i for i in instances() if i[0] in names]:
        clear()
        set_floatx(dtype)
        try:
            rng = rng_for(name)
            model = case.build(kit(dtype, seed_gru))
            randomize(model, rng, case.scales, dtype)
            halves = cudnn_biases(model, rng) if case.cudnn else None
            xs = [make_input(rng, spec[0], spec[1], ids_dtype(model, i) if spec[0] == "ids" else dtype,
                             *spec[2:], batch=case.batch) for i, spec in enumerate(case.inputs)]
            feed = xs[0] if len(xs) == 1 else xs
            ys = model.predict(feed, batch_size=case.batch, verbose=0)
            ys = [np.asarray(y) for y in (ys if isinstance(ys, (list, tuple)) else [ys])]
            direct = model(feed, training=False)
            direct = direct if isinstance(direct, (list, tuple)) else [direct]
            tol = 1e-12 if dtype == "float64" else 1e-6
            for y, d in zip(ys, direct):
                assert y.dtype == np.dtype(dtype), (name, y.dtype)
                assert np.allclose(y, np.asarray(d), rtol=0, atol=tol), (name, "predict != call", float(np.abs(y - np.asarray(d)).max()))
                assert np.all(np.isfinite(y)), name
                assert np.any(np.abs(y) > 1e-3), (name, "an output is all (nearly) zero")
            if case.mask_matters:  # the same weights with no mask give other numbers
                twin = case.build(kit(dtype, seed_gru, nomask=True))
                twin.set_weights(model.get_weights())
                other = twin.predict(feed, batch_size=case.batch, verbose=0)
                other = other if isinstance(other, (list, tuple)) else [other]
                moved = max(float(np.max(np.abs(y - np.asarray(o)))) for y, o in zip(ys, other))
                assert moved > 1e-3, (name, "the mask changes nothing", moved)
            saved = model
            if case.cudnn:
                saved = case.build(kit(dtype, seed_gru, cudnn=True))
                to_cudnn(model, saved, halves)
            if case.check:
                case.check(model, saved, xs, ys, kit(dtype, seed_gru))
            folder = staging / name
            folder.mkdir(parents=True)
            model_file = folder / f"model.{suffix}"
            with reproducible_save(part):
                saved.save(model_file)
            assert file_dtypes(model_file) == {dtype}, (name, file_dtypes(model_file))
            # Keras must load what it saved and predict the same numbers.
            clear()
            reloaded = keras.models.load_model(model_file, compile=False)
            if case.cudnn:  # CuDNNLSTM cannot run on CPU: its weights come back, and tf-keras's loader
                # converts them into the LSTM twin, which predicts the same numbers
                assert [type(a).__name__ for a in lstms(reloaded)] == [type(a).__name__ for a in lstms(saved)]
                assert all(np.array_equal(a, b) for a, b in zip(reloaded.get_weights(), saved.get_weights()))
                reloaded = case.build(kit(dtype, seed_gru))
                reloaded.load_weights(model_file)
            again = reloaded.predict(feed, batch_size=case.batch, verbose=0)
            again = again if isinstance(again, (list, tuple)) else [again]
            for y, a in zip(ys, again):
                assert np.array_equal(y, np.asarray(a)), (name, "reloaded model differs")
        finally:
            set_floatx("float32")
        x_names = ["x.npy"] if len(xs) == 1 else [f"x{i}.npy" for i in range(len(xs))]
        y_names = ["y.npy"] if len(ys) == 1 else [f"y{i}.npy" for i in range(len(ys))]
        for file, arr in zip(x_names + y_names, xs + ys):
            np.save(folder / file, np.ascontiguousarray(arr))
        entries.append({
            "name": name,
            "keras": "tf-keras" if part == "tfkeras" else "keras3",
            "keras_version": version,
            "dtype": dtype,
            "model": model_file.name,
            "inputs": [{"file": f, "shape": list(a.shape), "dtype": str(a.dtype)}
                       for f, a in zip(x_names, xs)],
            "outputs": [{"file": f, "shape": list(a.shape), "dtype": str(a.dtype)}
                        for f, a in zip(y_names, ys)],
            "layers": [layer.__class__.__name__ + (f"({layer.layer.__class__.__name__})"
                                                   if hasattr(layer, "layer") else
                                                   f"({layer.cell.__class__.__name__})"
                                                   if type(layer).__name__ == "RNN" else "")
                       for layer in saved.layers],
            "seed_gru": seed_gru,
            "exercises": case.what + (" (gru_v1.GRU: hard_sigmoid, reset_after=False)"
                                      if seed_gru else ""),
        })
        print(f"{name}: {', '.join(str(tuple(y.shape)) for y in ys)}", flush=True)
    generator = {"tensorflow": tf.__version__, ("tf_keras" if part == "tfkeras" else "keras"):
                 version, "numpy": np.__version__, "h5py": h5py.__version__}
    (staging / "entries.json").write_text(json.dumps({"generator": generator, "cases": entries}))


# ============================================================================ main
def check_versions():
    pins = dict(line.strip().split("==") for line in PINS.read_text().splitlines()
                if "==" in line)
    have = {k: importlib.metadata.version(k) for k in pins}
    bad = {k: (have[k], v) for k, v in pins.items() if have[k] != v}
    if bad:
        sys.exit(f"installed versions differ from {PINS.name}: {bad}")


def chosen(only):
    all_names = [i[0] for i in instances()]
    if not only:
        return all_names
    picked = set()
    for pattern in only:
        matched = [i[0] for i in instances() if i[1] == pattern or fnmatch.fnmatch(i[0], pattern)]
        if not matched:
            sys.exit(f"--only {pattern}: no such part or case")
        picked.update(matched)
    return [n for n in all_names if n in picked]


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
    out = args.root / "Fixtures" / "models"
    names = chosen(args.only)
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
            part_names = [i[0] for i in instances() if i[1] == part and i[0] in names]
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
    entries = [made[n][0] if n in made else old[n] for n in [i[0] for i in instances()]
               if n in made or (n in old and (out / n).exists())]
    manifest_path.write_text(json.dumps({"generator": generators, "cases": entries}, indent=1) + "\n")
    print(f"models: {len(made)} cases made, {len(entries)} in manifest.json")


if __name__ == "__main__":
    main()

"""bench.py's whole-model table and load row (Benchmarks/README.md, "Whole-model table" and "Load row").

Whole-model table: four tf-keras models, each timed as gru-run's whole process (load included), TensorFlow's
warm tf.function and ONNX Runtime's warm session on the tf2onnx conversion, the three alternating in rounds.
After the table: gru-run's time through each layer of the four models (in-process warm passes), and the
vocabulary head's Dense(8000) product on its own against numpy's sgemm of the same shape and the sgemm peak.
Load row: one large model (tf-keras .h5 and Keras 3 .keras) loaded and run once on 10 tokens by a fresh
process of each runtime, and gru-run inspect of both files.

Models, inputs, Keras's outputs and the ONNX conversions go to Benchmarks/out and are reused by later runs.
TensorFlow and ONNX Runtime each live in a fresh process of their own (spawned, so that their thread pools
never share one), kept for the whole table so that they stay warm from round to round.
"""
import itertools
import multiprocessing
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

# bench.py's helpers: timing, CPU-load notes, sgemm, tables. Importing it runs nothing: its main() runs only
# when it is the script.
import bench
from bench import OUT, cpu_clock, format_table, load_note, matmul_gflops, median_time, mb, output_file, peak_rss

MAX_GRU_RUN_ERROR = 1e-4  # gru-run's output against Keras's, per element
MAX_ORT_DIFF = 1e-4       # ONNX Runtime's output against Keras's before it is timed
MAX_KERAS3_DIFF = 1e-5    # Keras 3's predict of the load row's .keras against tf-keras's of the .h5
ONNX_OPSET = 17
LOAD_TARGETS = dict(run_s=0.4, inspect_s=0.1, rss_per_file_byte=1.3)
GRU_RUN_BENCH_THREADS = 2  # per-layer times and the Dense(8000) product
DENSE_GOAL = 0.85          # the Dense(8000) product's share of the sgemm peak

ORT_ONCE_SCRIPT = """
import sys, numpy as np, onnxruntime as ort
opts = ort.SessionOptions()
opts.intra_op_num_threads, opts.inter_op_num_threads = 2, 1
sess = ort.InferenceSession(sys.argv[1], opts, providers=["CPUExecutionProvider"])
x = np.load(sys.argv[2])
np.save(sys.argv[3], sess.run(None, {sess.get_inputs()[0].name: x})[0])
"""


# Multiply-adds, 2 FLOPs each: the work the model's layers do on one input, padded steps included.
def gru_flops(b, t, d, u):
    return 2 * b * t * 3 * u * (d + u)


def dense_flops(rows, n_in, n_out):
    return 2 * rows * n_in * n_out


def conv1d_flops(b, t_out, k, c_in, c_out):
    return 2 * b * t_out * k * c_in * c_out


@dataclass(frozen=True)
class BenchModel:
    key: str                       # file names in Benchmarks/out
    title: str                     # the table's model column
    shape: str                     # the table's shape column
    build: Callable                # tf_keras -> an uncompiled model
    make_input: Callable           # numpy Generator -> the input array
    flops: int
    convert: bool = True           # converted to ONNX by tf2onnx (for ORT's timings)

    @property
    def h5(self):
        return os.path.join(OUT, "models", f"{self.key}.h5")

    @property
    def keras(self):
        """The same model and weights saved by Keras 3 (made for the load row's model only)."""
        return os.path.join(OUT, "models", f"{self.key}.keras")

    @property
    def onnx(self):
        return os.path.join(OUT, "models", f"{self.key}.onnx")

    @property
    def onnx_error(self):
        """Why tf2onnx could not convert the model, kept so that later runs do not try again."""
        return os.path.join(OUT, "models", f"{self.key}.onnx-error.txt")

    @property
    def input(self):
        return os.path.join(OUT, "inputs", f"{self.key}.npy")

    @property
    def reference(self):
        return output_file(f"{self.key}_keras.npy")


def ids(rng, vocabulary, b, t, low=0):
    return rng.integers(low, vocabulary, (b, t)).astype(np.int32)


def padded_ids(rng, vocabulary, b, t, padding):
    """Ids from 1 with each sample's last `padding` steps 0, which mask_zero masks."""
    x = ids(rng, vocabulary, b, t, low=1)
    x[:, t - padding:] = 0
    return x


def ragged_ids(rng, vocabulary, b, t, most):
    """Ids from 1 with each sample's last 0..most steps 0 (its own count), which mask_zero masks."""
    x = ids(rng, vocabulary, b, t, low=1)
    for row, padding in zip(x, rng.integers(0, most + 1, b)):
        row[t - padding:] = 0
    return x


def conv2d_flops(b, rows, cols, kh, kw, c_in, c_out):
    return 2 * b * rows * cols * kh * kw * c_in * c_out


def additive_flops(b, tq, tv, d, dv):
    """Additive attention: an add, a tanh and a multiply-add per (query step, key step, feature), then
    weights x values."""
    return 4 * b * tq * tv * d + 2 * b * tq * tv * dv


def attention_flops(b, heads, tq, tv, dk, dv):
    """The two products around an attention's softmax: scores (tq, tv) and weights x values, per sample and head."""
    return 2 * b * heads * tq * tv * (dk + dv)


def normal(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def vocab_head(k):
    return k.Sequential([k.Input((64,), dtype="int32"), k.layers.Embedding(8000, 128),
                         k.layers.GRU(512, return_sequences=True), k.layers.Dense(8000, activation="softmax")])


def text_classifier(k):
    return k.Sequential([k.Input((200,), dtype="int32"), k.layers.Embedding(20000, 128, mask_zero=True),
                         k.layers.Bidirectional(k.layers.GRU(128)), k.layers.Dense(64, activation="relu"),
                         k.layers.Dense(1)])


def cnn_gru(k):
    return k.Sequential([k.Input((400, 8)), k.layers.Conv1D(64, 5, activation="relu"), k.layers.MaxPooling1D(2),
                         k.layers.GRU(128), k.layers.Dense(1)])


def stacked(k):
    return k.Sequential([k.Input((200, 32)), k.layers.GRU(256, return_sequences=True),
                         k.layers.TimeDistributed(k.layers.Dense(256, activation="relu")), k.layers.GRU(256),
                         k.layers.Dense(10, activation="softmax")])


def bigru_attention(k):
    x = k.Input((150, 40))
    h = k.layers.Bidirectional(k.layers.GRU(128, return_sequences=True))(x)
    a = k.layers.Attention()([h, h])
    return k.Model(x, k.layers.Dense(1, activation="sigmoid")(k.layers.GlobalAveragePooling1D()(a)))


def gru_mha(k):
    x = k.Input((120,), dtype="int32")
    h = k.layers.GRU(128, return_sequences=True)(k.layers.Embedding(5000, 64, mask_zero=True)(x))
    a = k.layers.MultiHeadAttention(num_heads=4, key_dim=32)(h, h)
    return k.Model(x, k.layers.Dense(2)(k.layers.GlobalAveragePooling1D()(a)))


def crnn(k):
    """A text-line recognizer's shape: two Conv2D + MaxPooling2D stages over a (32, 128) image, the columns
    made a sequence for a Bidirectional(GRU), a softmax over 40 symbols per column."""
    x = k.Input((32, 128, 1))
    h = k.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    h = k.layers.MaxPooling2D(2)(h)
    h = k.layers.Conv2D(64, 3, padding="same", activation="relu")(h)
    h = k.layers.MaxPooling2D((2, 1))(h)
    h = k.layers.Reshape((64, 8 * 64))(k.layers.Permute((2, 1, 3))(h))
    h = k.layers.Bidirectional(k.layers.GRU(128, return_sequences=True))(h)
    return k.Model(x, k.layers.Dense(40, activation="softmax")(h))


def gru_additive(k):
    x = k.Input((100, 32))
    h = k.layers.GRU(128, return_sequences=True)(x)
    a = k.layers.AdditiveAttention()([k.layers.Dense(128)(h), h])
    return k.Model(x, k.layers.Dense(1)(k.layers.GlobalAveragePooling1D()(a)))


def dense_8000(k):
    """The vocabulary head's Dense(8000) alone, linear: its product on the GRU's (16,64,512) output."""
    return k.Sequential([k.Input((64, 512)), k.layers.Dense(8000)])


def large_vocabulary(k):
    """About 69M float32 weights, a 275 MB .h5: the load row's model."""
    return k.Sequential([k.Input((None,), dtype="int32"), k.layers.Embedding(50000, 300),
                         k.layers.Bidirectional(k.layers.GRU(512)), k.layers.Dense(50000, activation="softmax")])


TABLE_MODELS = [
    BenchModel("whole_vocab_head", "vocab head", "ids (16,64)", vocab_head, lambda rng: ids(rng, 8000, 16, 64),
               gru_flops(16, 64, 128, 512) + dense_flops(16 * 64, 512, 8000)),
    BenchModel("whole_text_classifier", "text classifier", "ids (256,200), 40 padded",
               text_classifier, lambda rng: padded_ids(rng, 20000, 256, 200, 40),
               2 * gru_flops(256, 200, 128, 128) + dense_flops(256, 256, 64) + dense_flops(256, 64, 1)),
    BenchModel("whole_cnn_gru", "CNN-GRU", "(256,400,8)", cnn_gru, lambda rng: normal(rng, 256, 400, 8),
               conv1d_flops(256, 396, 5, 8, 64) + gru_flops(256, 198, 64, 128) + dense_flops(256, 128, 1)),
    BenchModel("whole_stacked", "stacked", "(64,200,32)", stacked, lambda rng: normal(rng, 64, 200, 32),
               gru_flops(64, 200, 32, 256) + dense_flops(64 * 200, 256, 256) + gru_flops(64, 200, 256, 256)
               + dense_flops(64, 256, 10)),
    BenchModel("whole_bigru_attention", "BiGRU-attention", "(64,150,40)", bigru_attention,
               lambda rng: normal(rng, 64, 150, 40),
               2 * gru_flops(64, 150, 40, 128) + attention_flops(64, 1, 150, 150, 256, 256) + dense_flops(64, 256, 1)),
    BenchModel("whole_gru_mha", "GRU-MHA", "ids (64,120), 0-60 padded", gru_mha,
               lambda rng: ragged_ids(rng, 5000, 64, 120, 60),
               gru_flops(64, 120, 64, 128) + 4 * dense_flops(64 * 120, 128, 128)
               + attention_flops(64, 4, 120, 120, 32, 32) + dense_flops(64, 128, 2)),
    BenchModel("whole_crnn", "CRNN", "(64,32,128,1)", crnn, lambda rng: normal(rng, 64, 32, 128, 1),
               conv2d_flops(64, 32, 128, 3, 3, 1, 32) + conv2d_flops(64, 16, 64, 3, 3, 32, 64)
               + 2 * gru_flops(64, 64, 512, 128) + dense_flops(64 * 64, 256, 40)),
    BenchModel("whole_gru_additive", "GRU-additive attention", "(128,100,32)", gru_additive,
               lambda rng: normal(rng, 128, 100, 32),
               gru_flops(128, 100, 32, 128) + dense_flops(128 * 100, 128, 128) + additive_flops(128, 100, 100, 128, 128)
               + dense_flops(128, 128, 1)),
]
LOAD_MODEL = BenchModel("load_bigru_50k", "large vocabulary", "ids (1,10)", large_vocabulary,
                        lambda rng: ids(rng, 50000, 1, 10, low=1),
                        2 * gru_flops(1, 10, 300, 512) + dense_flops(1, 1024, 50000))
DENSE_PRODUCT = (16 * 64, 512, 8000)  # the Dense(8000) model's product: rows x in @ in x out
DENSE_MODEL = BenchModel("dense_8000", "Dense(8000)", "(16,64,512)", dense_8000, lambda rng: normal(rng, 16, 64, 512),
                         dense_flops(*DENSE_PRODUCT), convert=False)
MODELS = {m.key: m for m in TABLE_MODELS + [LOAD_MODEL, DENSE_MODEL]}


def quiet_tensorflow():
    """TensorFlow's start-up lines (no GPU, ...) go to Benchmarks/out/tensorflow.log, not the bench's output."""
    with open(os.path.join(OUT, "tensorflow.log"), "a") as log:
        os.dup2(log.fileno(), 2)


def save_model(spec, keras):
    """Builds the model with weights N(0,1)*0.1 and saves it as tf-keras .h5 (renamed once complete)."""
    model = spec.build(keras)
    rng = np.random.default_rng(sum(map(ord, spec.key)))
    model.set_weights([(rng.standard_normal(w.shape) * 0.1).astype(np.float32) for w in model.get_weights()])
    model.save(spec.h5[:-3] + ".partial.h5")
    os.replace(spec.h5[:-3] + ".partial.h5", spec.h5)


def convert_to_onnx(spec, model, x):
    """tf2onnx's conversion of the model at the input's shape, batch left free; on failure the reason is kept."""
    import tensorflow as tf
    import tf2onnx

    signature = [tf.TensorSpec((None,) + x.shape[1:], tf.as_dtype(x.dtype), name="x")]
    try:
        tf2onnx.convert.from_keras(model, input_signature=signature, opset=ONNX_OPSET,
                                   output_path=spec.onnx + ".partial")
        os.replace(spec.onnx + ".partial", spec.onnx)
    except Exception as error:  # noqa: BLE001 - any converter failure is reported in the table, not raised
        reason = " ".join(f"{type(error).__name__}: {error}".split())[:300]
        with open(spec.onnx_error, "w") as f:
            f.write(f"tf2onnx {tf2onnx.__version__}: {reason}\n")


def prepare_models(keys):
    """Makes what is missing of each model: the .h5, the input, Keras's predict output and the ONNX file (if
    the model is converted).

    Runs in a fresh process: tf_keras as tf.keras (TF_USE_LEGACY_KERAS), which tf2onnx's Keras path expects."""
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    quiet_tensorflow()
    import tensorflow as tf
    import tf_keras

    tf.get_logger().setLevel("ERROR")
    made = []
    for key in keys:
        spec = MODELS[key]
        if not os.path.exists(spec.h5):
            save_model(spec, tf_keras)
            made.append(f"{key}.h5")
        if not os.path.exists(spec.input):
            np.save(spec.input, spec.make_input(np.random.default_rng(sum(map(ord, spec.key)) + 1)))
        x, model = np.load(spec.input), None
        if not os.path.exists(spec.reference):
            model = tf_keras.models.load_model(spec.h5, compile=False)
            np.save(spec.reference, model.predict(x, batch_size=len(x), verbose=0))
        if spec.convert and not os.path.exists(spec.onnx) and not os.path.exists(spec.onnx_error):
            convert_to_onnx(spec, model or tf_keras.models.load_model(spec.h5, compile=False), x)
            made.append(f"{key}.onnx" if os.path.exists(spec.onnx) else f"{key}.onnx (failed)")
    return made


def save_keras3(key):
    """Makes the model's .keras archive, if missing: the same layers built by Keras 3, the .h5's weights set in
    them, saved by Keras 3 and kept only if Keras 3's predict of the saved file is within MAX_KERAS3_DIFF of
    the .h5's reference output. Runs in a fresh process; returns (what it made, why the .keras is missing)."""
    spec = MODELS[key]
    if os.path.exists(spec.keras):
        return [], None
    quiet_tensorflow()
    import keras
    import tf_keras

    partial = spec.keras[:-len(".keras")] + ".partial.keras"
    try:
        model = spec.build(keras)
        model.set_weights(tf_keras.models.load_model(spec.h5, compile=False).get_weights())
        model.save(partial)
        x = np.load(spec.input)
        diff = max_diff(keras.models.load_model(partial).predict(x, batch_size=len(x), verbose=0),
                        np.load(spec.reference))
    except Exception as error:  # noqa: BLE001 - reported in the load row, not raised
        return [], " ".join(f"Keras 3: {type(error).__name__}: {error}".split())[:300]
    if diff >= MAX_KERAS3_DIFF:
        os.remove(partial)
        return [], f"Keras 3's predict of the .keras differs from the .h5's by {diff:.3g}"
    os.replace(partial, spec.keras)
    return [f"{key}.keras (Keras 3's predict of it within {diff:.1e} of the .h5's)"], None


def onnx_status(spec):
    """None when the ONNX file is there, else why not (the converter's reason)."""
    if os.path.exists(spec.onnx):
        return None
    if os.path.exists(spec.onnx_error):
        with open(spec.onnx_error) as f:
            return f.read().strip()
    return "no ONNX file"


def max_diff(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a.astype(np.float64) - b)))


class TensorFlowRuntime:
    """Each model as @tf.function f(x) = model(x, training=False), traced and warmed up; default threads."""

    def __init__(self, keys, warmup):
        quiet_tensorflow()
        import tensorflow as tf
        import tf_keras

        tf.get_logger().setLevel("ERROR")
        self.calls, self.info = {}, {"diff": {}}
        for key in keys:
            spec = MODELS[key]
            model = tf_keras.models.load_model(spec.h5, compile=False)
            x = tf.constant(np.load(spec.input))
            f = tf.function(lambda inputs, model=model: model(inputs, training=False))
            self.info["diff"][key] = max_diff(f(x).numpy(), np.load(spec.reference))
            for _ in range(warmup):
                f(x).numpy()
            self.calls[key] = lambda f=f, x=x: f(x).numpy()
        self.info["threads"] = (tf.config.threading.get_intra_op_parallelism_threads(),
                                tf.config.threading.get_inter_op_parallelism_threads())
        self.info["version"] = tf.__version__

    def time(self, key, repeat):
        return median_time(self.calls[key], repeat, 0)


class OnnxRuntime:
    """A session per model and thread count (intra-op 1|2, inter-op 1, sequential), checked against Keras's
    output and warmed up; a model whose output differs is left out (with its difference)."""

    def __init__(self, keys, threads, warmup):
        import onnxruntime as ort

        self.sessions, self.info = {}, {"diff": {}, "error": {}}
        for key in keys:
            spec = MODELS[key]
            x = np.load(spec.input)
            for n in threads:
                opts = ort.SessionOptions()
                opts.intra_op_num_threads, opts.inter_op_num_threads = n, 1
                opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                try:
                    sess = ort.InferenceSession(spec.onnx, opts, providers=["CPUExecutionProvider"])
                    feed = {sess.get_inputs()[0].name: x}
                    diff = max_diff(sess.run(None, feed)[0], np.load(spec.reference))
                except Exception as error:  # noqa: BLE001 - reported in the table
                    self.info["error"][key] = " ".join(f"{type(error).__name__}: {error}".split())[:300]
                    break
                self.info["diff"][(key, n)] = diff
                if diff >= MAX_ORT_DIFF:
                    self.info["error"][key] = f"output differs from Keras's by {diff:.3g}"
                    break
                for _ in range(warmup):
                    sess.run(None, feed)
                self.sessions[(key, n)] = lambda sess=sess, feed=feed: sess.run(None, feed)

    def time(self, key, threads, repeat):
        return median_time(self.sessions[(key, threads)], repeat, 0)


def serve(conn, runtime_class, args):
    """A spawned process's loop: builds the runtime, sends its info, then answers (method, args) requests
    with results until it receives None. A failure is sent back as ("error", text)."""
    try:
        runtime = runtime_class(*args)
        conn.send(("ok", runtime.info))
        while (request := conn.recv()) is not None:
            method, call_args = request
            conn.send(("ok", getattr(runtime, method)(*call_args)))
    except Exception as error:  # noqa: BLE001 - the parent reports it
        conn.send(("error", f"{type(error).__name__}: {error}"))


class Worker:
    """A runtime in a fresh (spawned) Python process that stays alive between requests."""

    def __init__(self, runtime_class, *args):
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child, runtime_class, args), daemon=True)
        self.process.start()
        self.info = self.receive()

    def receive(self):
        status, value = self.conn.recv()
        if status == "error":
            raise RuntimeError(value)
        return value

    def call(self, method, *args):
        self.conn.send((method, args))
        return self.receive()

    def close(self):
        self.conn.send(None)
        self.process.join()


def run_process(cmd):
    """Runs cmd; returns None, or its error (the last line it printed to stderr)."""
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
    return lines[-1][:300]


def process_ms(cmd):
    """Wall time of one run of cmd in ms, its output to /dev/null (it must succeed)."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1e3


def fresh_process_ms(cmd):
    """process_ms of a gru-run command whose output file is first removed (untimed): each run writes a new file,
    as a pipeline's step does, rather than replacing the last round's (the kernel frees a replaced file's pages
    inside rename(): 20 ms for the vocabulary head's 32 MB, which no warm forward pays)."""
    output = cmd[cmd.index("--output") + 1]
    if os.path.exists(output):
        os.remove(output)
    return process_ms(cmd)


def gru_run_command(gru_run, spec, output, weights=None):
    return [gru_run, "--weights", weights or spec.h5, "--input", spec.input, "--output", output]


def check_gru_run(gru_run, spec):
    """gru-run's error (None if it ran) and its output's max abs difference from Keras's predict."""
    out = output_file(f"{spec.key}_gru_run.npy")
    if os.path.exists(out):
        os.remove(out)
    error = run_process(gru_run_command(gru_run, spec, out))
    return error, (None if error else max_diff(np.load(out), np.load(spec.reference)))


@dataclass
class Row:
    spec: BenchModel
    gru_error: str = None
    gru_diff: float = None
    ort_error: str = None
    ort_diff: dict = None
    tf_diff: float = None

    def __post_init__(self):
        self.times = {"tf": [], "ort2": [], "ort1": [], "gru": [], "share": []}

    def median(self, key):
        return float(np.median(self.times[key])) if self.times[key] else None


def measure_round(row, tf, ort, gru_cmd, cfg):
    """One round of one model: TF, ORT 2t and 1t (warm, in their processes), then gru-run's process."""
    key = row.spec.key
    row.times["tf"].append(tf.call("time", key, cfg["repeat"]))
    time.sleep(0.05)  # TF's pool threads stop spinning before the next contender starts
    if not row.ort_error:
        for n in cfg["ort_threads"]:
            row.times[f"ort{n}"].append(ort.call("time", key, n, cfg["repeat"]))
        time.sleep(0.05)
    if not row.gru_error:
        row.times["gru"].append(float(np.median([fresh_process_ms(gru_cmd) for _ in range(cfg["gru_runs"])])))


def print_check(row, ort_threads):
    spec = row.spec
    if row.gru_error:
        gru = f"gru-run failed: {row.gru_error}"
    else:
        ok = "OK" if row.gru_diff < MAX_GRU_RUN_ERROR else "OVER"
        gru = f"gru-run vs Keras max abs error {row.gru_diff:.2e} (< {MAX_GRU_RUN_ERROR:g}: {ok})"
    diffs = [f"{row.ort_diff[n]:.2e} ({n}t)" for n in ort_threads if n in row.ort_diff]
    ort = f"ORT: {row.ort_error}" if row.ort_error else f"ORT vs Keras max abs diff {', '.join(diffs)}"
    print(f"  {spec.title}: {gru}; {ort}; TF tf.function vs Keras predict {row.tf_diff:.2e}")


def fmt_ms(ms):
    return "-" if ms is None else f"{ms:.1f}"


def table_rows(rows, ort_threads):
    """The table's cells; a failure shows as a numbered note printed under the table."""
    cells, notes = [], []

    def failed(text):
        notes.append(text)
        return f"failed [{len(notes)}]"

    for r in rows:
        tf, gru = r.median("tf"), r.median("gru")
        ort = {n: (failed(f"ORT {r.spec.title}: {r.ort_error}") if r.ort_error and n == ort_threads[0]
                   else "-" if r.ort_error else fmt_ms(r.median(f"ort{n}"))) for n in ort_threads}
        gru_cell = failed(f"gru-run {r.spec.title}: {r.gru_error}") if r.gru_error else fmt_ms(gru)
        peers = [ms for ms in (tf, None if r.ort_error else r.median("ort2")) if ms is not None]
        ratio = f"{min(peers) / gru:.2f}x" if gru and peers else "-"
        gflops = f"{r.spec.flops / (gru * 1e6):.2f}" if gru else "-"
        share = f"{100 * r.median('share'):.1f}%" if gru else "-"
        cells.append([r.spec.title, r.spec.shape, fmt_ms(tf), *(ort[n] for n in ort_threads), gru_cell, ratio,
                      f"{r.spec.flops / 1e9:.2f}", gflops, share])
    return cells, notes


def table_headers(ort_threads):
    return (["model", "input", "TF warm ms"] + [f"ORT {n}t warm ms" for n in ort_threads]
            + ["gru-run process ms", "faster peer / gru-run", "GFLOP", "gru-run GFLOPS", "% sgemm peak 2t"])


def count(n, noun):
    return f"{n} {noun}{'' if n == 1 else 's'}"


def print_table_method(cfg):
    c, n = cfg["models"], cfg["sgemm"][1][0]
    print("== Whole-model table: four tf-keras models (.h5, weights N(0,1)*0.1), each run whole by each runtime")
    print("  vocab head: Embedding(8000,128) -> GRU(512, return_sequences) -> Dense(8000, softmax); "
          "text classifier: Embedding(20000,128, mask_zero) -> Bidirectional(GRU(128)) -> Dense(64, relu) -> "
          "Dense(1); CNN-GRU: Conv1D(64,5, relu) -> MaxPooling1D(2) -> GRU(128) -> Dense(1); stacked: "
          "GRU(256, return_sequences) -> TimeDistributed(Dense(256, relu)) -> GRU(256) -> Dense(10, softmax); "
          "BiGRU-attention: Bidirectional(GRU(128, return_sequences)) -> Attention self-attention -> "
          "GlobalAveragePooling1D -> Dense(1, sigmoid); GRU-MHA: Embedding(5000,64, mask_zero) -> GRU(128, "
          "return_sequences) -> MultiHeadAttention(4 heads, key_dim 32) self-attention -> GlobalAveragePooling1D -> "
          "Dense(2)")
    print(f"  the contenders alternate in {c['rounds']} rounds (per model: TF, ORT "
          f"{', '.join(f'{t}t' for t in c['ort_threads'])}, gru-run); each figure is the median of its per-round "
          "medians")
    print(f"  gru-run: `gru-run --weights m.h5 --input x.npy --output y.npy`, wall time of the whole process "
          f"(start, load, run, write), median of {count(c['gru_runs'], 'run')} per round, after one untimed run "
          "that checks the output; each run writes a new file (the last one removed before it, untimed)")
    print(f"  TF: @tf.function f(x) = model(x, training=False) in a fresh process, traced and warmed up "
          f"({count(c['warmup'], 'call')}), default threads; per round the median of {c['repeat']} calls of "
          "f(x).numpy()")
    print(f"  ORT: tf2onnx.convert.from_keras (opset {ONNX_OPSET}) in Benchmarks/out/models, intra_op 2|1, "
          f"inter_op 1, sequential, in a fresh process, warmed up ({count(c['warmup'], 'run')}); per round the median of "
          f"{c['repeat']} sess.run")
    print("  faster peer / gru-run: the faster of TF and ORT 2t over gru-run's process time (>1: gru-run faster, "
          "load included); GFLOP: the model's multiply-adds x2 (GRU 2*B*T*3U*(D+U), Dense 2*rows*in*out, "
          "Conv1D 2*B*T_out*K*Cin*Cout, padded steps counted)")
    print(f"  gru-run GFLOPS: GFLOP / gru-run's process time (load included); % sgemm peak 2t: each round also "
          f"times numpy's sgemm on 2 threads (n={n}, median of 3, fresh process), the median over rounds of "
          "gru-run's GFLOPS / that round's sgemm GFLOPS")


def start_workers(rows, warmup, ort_threads):
    """TF and ORT in their processes, their checks against Keras's output copied into the rows."""
    tf = Worker(TensorFlowRuntime, [r.spec.key for r in rows], warmup)
    ort = Worker(OnnxRuntime, [r.spec.key for r in rows if not r.ort_error], ort_threads, warmup)
    for row in rows:
        row.tf_diff = tf.info["diff"][row.spec.key]
        row.ort_diff = {n: d for (key, n), d in ort.info["diff"].items() if key == row.spec.key}
        row.ort_error = row.ort_error or ort.info["error"].get(row.spec.key)
    return tf, ort


def layer_names(gru_run, spec):
    """The model's layers in order, as `gru-run inspect` lists them under graph: (the names --through takes)."""
    out = subprocess.run([gru_run, "inspect", spec.h5], capture_output=True, text=True, check=True).stdout
    graph = out.partition("\ngraph:\n")[2].splitlines()
    return [line.split()[0] for line in itertools.takewhile(lambda line: line.startswith("  "), graph)]


def bench_command(gru_run, spec, c, *options):
    """`gru-run bench` of the model on its input: warm passes in one process, the model loaded once."""
    return [gru_run, "bench", "--weights", spec.h5, "--input", spec.input, "--threads", str(GRU_RUN_BENCH_THREADS),
            "--repeat", str(c["repeat"]), "--warmup", str(c["warmup"]), "--json", *options]


def bench_ms(cmd):
    """(the median ms of `gru-run bench --json`, None), or (None, its error)."""
    try:
        return bench.run_gru_bench(cmd)["median_ms"], None
    except SystemExit as error:  # run_gru_bench's failure, reported on the model's line instead of ending the run
        return None, str(error).rpartition("): ")[2][:300]


def layer_line(row, names, times, error):
    """`model: first 0.1 ms, second +8.8 ms, ... (through last: ... ms)`: cumulative time, then each layer's own."""
    if error:
        return f"{row.spec.title}: failed: {error}"
    cumulative = [float(np.median(times[name])) for name in names]
    shares = [f"{names[0]} {cumulative[0]:.1f} ms"] + [
        f"{name} {ms - previous:+.1f} ms" for name, ms, previous in zip(names[1:], cumulative[1:], cumulative)]
    return (f"{row.spec.title}: {', '.join(shares)} (through {names[-1]}: {cumulative[-1]:.1f} ms in-process; the "
            f"whole process in the table: {fmt_ms(row.median('gru'))} ms)")


def layer_times(gru_run, rows, c):
    """Prints and returns a line per model: gru-run's median time through each of its layers (`gru-run bench
    --through`, warm in-process passes) and each layer's own part, every layer of every model in each round."""
    print(f"== Per-layer times of gru-run: `gru-run bench --input x.npy --through LAYER --threads "
          f"{GRU_RUN_BENCH_THREADS} --json` for each layer in order (the graph: of `gru-run inspect`)")
    print(f"  in-process warm passes, not whole processes (no start, no load): per round the median of {c['repeat']} "
          f"passes after {c['warmup']}, {c['rounds']} rounds, the median of the per-round medians; the time through "
          "each layer, then each next layer's own part (+: the difference from the time through the layer before)")
    start = cpu_clock()
    layers = {row.spec.key: layer_names(gru_run, row.spec) for row in rows if not row.gru_error}
    times = {key: {name: [] for name in names} for key, names in layers.items()}
    errors = {row.spec.key: row.gru_error for row in rows if row.gru_error}
    for _ in range(c["rounds"]):
        for key in [key for key in layers if key not in errors]:
            for name in layers[key]:
                ms, error = bench_ms(bench_command(gru_run, MODELS[key], c, "--through", name))
                if error:
                    errors[key] = f"--through {name}: {error}"
                    break
                times[key][name].append(ms)
    lines = [layer_line(row, layers.get(row.spec.key), times.get(row.spec.key), errors.get(row.spec.key))
             for row in rows]
    print("\n".join(f"  {line}" for line in lines))
    print(f"  {load_note(start, 'meanwhile')}\n")
    return lines


def dense_against_sgemm(gru_run, cfg):
    """Prints and returns the lines of the vocabulary head's Dense(8000) product on its own: gru-run (in-process
    median) against numpy's sgemm of the same shape and the sgemm peak, the three alternating in rounds."""
    c, n, spec, shape = cfg["models"], cfg["sgemm"][1][0], DENSE_MODEL, DENSE_PRODUCT
    print(f"== Dense(8000) product: Input((64,512)) -> Dense(8000) (linear, bias, weights N(0,1)*0.1) on a "
          f"{spec.shape} float32 N(0,1) input, a {shape[0]}x{shape[1]} @ {shape[1]}x{shape[2]} product")
    print(f"  {c['rounds']} rounds of: gru-run bench ({GRU_RUN_BENCH_THREADS} threads, in-process, median of "
          f"{c['repeat']} warm passes after {c['warmup']}), numpy's float32 matmul of the same shape and its n={n} "
          f"sgemm (the peak), each on 2 threads in a fresh process (median of 3); GFLOPS 2*{shape[0]}*{shape[1]}*"
          f"{shape[2]} / time, medians over rounds, gru-run's shares the medians of the per-round shares")
    start = cpu_clock()
    error, diff = check_gru_run(gru_run, spec)
    lines = [f"gru-run failed: {error}" if error else
             f"gru-run vs Keras max abs error {diff:.2e} (< {MAX_GRU_RUN_ERROR:g}: "
             f"{'OK' if diff < MAX_GRU_RUN_ERROR else 'OVER'})"]
    rounds = {"gru": [], "numpy": [], "peak": []}
    for _ in range(0 if error else c["rounds"]):
        ms, error = bench_ms(bench_command(gru_run, spec, c))
        if error:
            lines.append(f"gru-run bench failed: {error}")
            break
        rounds["gru"].append(spec.flops / (ms * 1e6))
        rounds["numpy"].append(matmul_gflops(2, shape, 3))
        rounds["peak"].append(matmul_gflops(2, n, 3))
    if not error:
        gflops = {key: float(np.median(values)) for key, values in rounds.items()}
        share = {key: float(np.median(np.divide(rounds["gru"], rounds[key]))) for key in ("numpy", "peak")}
        lines += [f"gru-run {gflops['gru']:.1f} GFLOPS ({spec.flops / (gflops['gru'] * 1e6):.2f} ms), numpy same "
                  f"shape {gflops['numpy']:.1f} GFLOPS, sgemm peak (n={n}) {gflops['peak']:.1f} GFLOPS; gru-run "
                  f"{100 * share['numpy']:.1f}% of numpy's same shape, {100 * share['peak']:.1f}% of the peak",
                  f"goal: Dense(8000) product >= {100 * DENSE_GOAL:.0f}% of the sgemm peak: "
                  f"{'met' if share['peak'] >= DENSE_GOAL else 'NOT met'}"]
    print("\n".join(f"  {line}" for line in lines))
    print(f"  {load_note(start, 'meanwhile')}\n")
    return lines


def whole_model_table(gru_run, cfg):
    """Prints the whole-model table, then gru-run's per-layer times and the Dense(8000) product against sgemm;
    returns the table's headers, cells, notes and load note and the lines after it (for the Markdown at the end)."""
    c = cfg["models"]
    print_table_method(cfg)
    start = cpu_clock()
    made = bench.run_isolated(prepare_models, [m.key for m in TABLE_MODELS + [DENSE_MODEL]])
    if made:
        print(f"  made {', '.join(made)} in Benchmarks/out/models ({time.perf_counter() - start[2]:.0f} s)")
    rows = [Row(spec, ort_error=onnx_status(spec)) for spec in TABLE_MODELS]
    for row in rows:
        row.gru_error, row.gru_diff = check_gru_run(gru_run, row.spec)
    tf, ort = start_workers(rows, c["warmup"], c["ort_threads"])
    print(f"  checks before timing (TF {tf.info['version']}, threads intra_op {tf.info['threads'][0]}, inter_op "
          f"{tf.info['threads'][1]}; 0 = TF's choice, all {os.cpu_count()} cores):")
    for row in rows:
        print_check(row, c["ort_threads"])
    for _ in range(c["rounds"]):
        for row in rows:
            command = gru_run_command(gru_run, row.spec, output_file(f"{row.spec.key}_gru_run.npy"))
            measure_round(row, tf, ort, command, c)
        # The machine's peak in the same round, so that a slow or fast spell falls on both.
        sgemm = matmul_gflops(2, cfg["sgemm"][1][0], 3)
        for row in rows:
            if row.times["gru"]:
                row.times["share"].append(row.spec.flops / (row.times["gru"][-1] * 1e6) / sgemm)
    tf.close()
    ort.close()
    headers = table_headers(c["ort_threads"])
    cells, notes = table_rows(rows, c["ort_threads"])
    print("\n" + format_table(headers, cells))
    for i, note in enumerate(notes, 1):
        print(f"  [{i}] {note}")
    print(f"  {load_note(start, 'meanwhile')}\n")
    note = load_note(start, "while the whole-model table was measured")
    after = {"Per-layer times of gru-run (in-process warm passes, not whole processes)": layer_times(gru_run, rows, c),
             "Dense(8000) product against numpy's sgemm": dense_against_sgemm(gru_run, cfg)}
    return headers, cells, notes, note, after


@dataclass(frozen=True)
class LoadProcess:
    """A load-row process: its command, the model file it reads, the output it writes (compared with Keras's
    predict) and the issue's target it is held to ("run", "inspect" or None)."""
    cmd: list
    file: str
    output: str = None
    target: str = None


def load_processes(gru_run, spec):
    """The load row's processes by name, in the order they take turns in a round."""
    out = {name: output_file(f"{spec.key}_{name}.npy")
           for name in ("gru_run", "gru_run_keras", "keras_predict", "keras3_predict", "ort")}
    predict = [sys.executable, os.path.join(bench.HERE, "keras_predict.py")]
    return {
        "gru-run run (.h5)": LoadProcess(gru_run_command(gru_run, spec, out["gru_run"]), spec.h5,
                                         out["gru_run"], "run"),
        "gru-run run (.keras)": LoadProcess(gru_run_command(gru_run, spec, out["gru_run_keras"], spec.keras),
                                            spec.keras, out["gru_run_keras"], "run"),
        "gru-run inspect (.h5)": LoadProcess([gru_run, "inspect", spec.h5], spec.h5, target="inspect"),
        "gru-run inspect (.keras)": LoadProcess([gru_run, "inspect", spec.keras], spec.keras, target="inspect"),
        "tf-keras load_model + predict (.h5)": LoadProcess(predict + [spec.h5, spec.input, out["keras_predict"]],
                                                           spec.h5, out["keras_predict"]),
        "Keras 3 load_model + predict (.keras)": LoadProcess(
            predict + ["--keras3", spec.keras, spec.input, out["keras3_predict"]], spec.keras, out["keras3_predict"]),
        "ORT session + run (2t)": LoadProcess([sys.executable, "-c", ORT_ONCE_SCRIPT, spec.onnx, spec.input,
                                               out["ort"]], spec.onnx, out["ort"]),
    }


def first_run(cmd):
    """The untimed first run of a load-row process: (None, its max RSS) or (its error, None)."""
    try:
        return None, peak_rss(cmd)
    except subprocess.CalledProcessError:
        return run_process(cmd) or "failed once, then ran", None


def load_targets(target, wall_ms, rss, size):
    """The issue's target for a gru-run row, size being its file's: (text, met)."""
    if target == "run":
        limit = LOAD_TARGETS["rss_per_file_byte"] * size
        return (f"wall <= {LOAD_TARGETS['run_s'] * 1e3:.0f} ms, RSS <= {LOAD_TARGETS['rss_per_file_byte']}x file "
                f"= {mb(limit)}", wall_ms <= LOAD_TARGETS["run_s"] * 1e3 and rss <= limit)
    if target == "inspect":
        return f"wall <= {LOAD_TARGETS['inspect_s'] * 1e3:.0f} ms", wall_ms <= LOAD_TARGETS["inspect_s"] * 1e3
    return "", None


def file_size(path):
    size = os.path.getsize(path)
    return f"{os.path.basename(path)} {mb(size)} ({size} bytes)"


def load_row(gru_run, cfg):
    """Prints the load row: one large model as .h5 and .keras, a 10-token input, a fresh process per run."""
    spec, rounds = LOAD_MODEL, cfg["load"]["rounds"]
    processes = load_processes(gru_run, spec)
    print("== Load row: Embedding(50000,300) -> Bidirectional(GRU(512)) -> Dense(50000, softmax), weights "
          "N(0,1)*0.1, saved by tf-keras as .h5 and by Keras 3 as .keras (the same weights); input 10 token ids (B=1)")
    print(f"  each process once untimed, which gives its max RSS (getrusage of the process, as in Peak memory; "
          f"x file: over the size of the file it reads) and output and puts the file in the page cache; then the "
          f"{len(processes)} alternate in {rounds} rounds: wall time of each process (output to /dev/null), median")
    start = cpu_clock()
    made = bench.run_isolated(prepare_models, [spec.key])
    keras_made, keras_error = bench.run_isolated(save_keras3, spec.key)
    if made + keras_made:
        print(f"  made {', '.join(made + keras_made)} in Benchmarks/out/models "
              f"({time.perf_counter() - start[2]:.0f} s)")
    files = [file_size(path) for path in (spec.h5, spec.keras, spec.onnx) if os.path.exists(path)]
    print(f"  in {os.path.dirname(spec.h5)}: {', '.join(files)}")
    for p in processes.values():  # a previous run's output must not pass for this run's
        if p.output and os.path.exists(p.output):
            os.remove(p.output)
    missing = {spec.keras: keras_error, spec.onnx: onnx_status(spec)}
    first = {name: (missing[p.file], None) if missing.get(p.file) else first_run(p.cmd)
             for name, p in processes.items()}
    times = {name: [] for name, (error, _) in first.items() if not error}
    for _ in range(rounds):
        for name in times:
            times[name].append(process_ms(processes[name].cmd))
    cells = []
    for name, p in processes.items():
        error, rss = first[name]
        if error:
            cells.append([name, "failed", "-", "", error[:160]])
            continue
        wall, size = float(np.median(times[name])), os.path.getsize(p.file)
        target, met = load_targets(p.target, wall, rss, size)
        cells.append([name, f"{wall:.0f}", f"{mb(rss)} ({rss / size:.2f}x file)", target,
                      "" if met is None else "met" if met else "NOT met"])
    print("\n" + format_table(["process", "wall ms", "max RSS", "target", ""], cells))
    reference = np.load(spec.reference)
    diffs = [f"{name} {max_diff(np.load(p.output), reference):.2e}" for name, p in processes.items()
             if p.output and os.path.exists(p.output)]
    print(f"  outputs vs Keras predict ({os.path.basename(spec.reference)}), max abs diff: {', '.join(diffs)}")
    print(f"  {load_note(start, 'meanwhile')}\n")

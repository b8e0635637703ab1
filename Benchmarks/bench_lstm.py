"""bench.py's LSTM table (Benchmarks/README.md, "LSTM table"): the GRU table's shapes with an LSTM.

Each shape is a tf-keras model Input((None, D)) -> LSTM(U) (recurrent_activation sigmoid, weights N(0,1)*0.1),
timed as `gru-run bench` (warm passes in one process, 1 and 2 threads), as one ONNX Runtime LSTM op holding
the same weights (1 and 2 intra-op threads; its Y_h checked against Keras first), and as tf-keras's warm
tf.function. gru-run's output on the same input is checked against Keras's too. gru-run and ORT alternate in
rounds; each figure is the median of its per-round medians. Targets: the GRU table's (1.5x ORT's 2-thread
time, 80% of the sgemm peak on the largest shape).
"""
import os
import subprocess
import time

import numpy as np

import bench
from bench import (OUT, SHAPES, cpu_clock, format_table, gru_bench_command, input_array, load_note, matmul_gflops,
                   median_time, run_gru_bench, run_isolated, shape_name)

MAX_DIFF = 1e-4  # ORT's and gru-run's outputs against Keras's, per element


def lstm_model_path(d, u):
    return os.path.join(OUT, "models", f"lstm_D{d}_U{u}.h5")


def ensure_lstm_model(d, u):
    """Saves Input((None, d)) -> LSTM(u) with weights N(0,1)*0.1, unless the file exists."""
    import tf_keras

    path = lstm_model_path(d, u)
    if os.path.exists(path):
        return
    model = tf_keras.Sequential([tf_keras.Input(shape=(None, d)), tf_keras.layers.LSTM(u)])
    rng = np.random.default_rng(3000 * d + u)
    model.set_weights([(rng.standard_normal(w.shape) * 0.1).astype(np.float32) for w in model.get_weights()])
    model.save(path[:-3] + ".partial.h5")
    os.replace(path[:-3] + ".partial.h5", path)


def keras_lstm_worker(cfg):
    """Makes the models (if missing) and times tf-keras on each shape: median ms, weights, output."""
    with open(os.path.join(OUT, "tensorflow.log"), "a") as log:
        os.dup2(log.fileno(), 2)
    import tensorflow as tf
    import tf_keras

    tf.get_logger().setLevel("ERROR")
    results = {}
    for b, t, d, u in SHAPES:
        ensure_lstm_model(d, u)
        model = tf_keras.models.load_model(lstm_model_path(d, u), compile=False)
        x = tf.constant(input_array(b, t, d))

        @tf.function
        def f(inputs):
            return model(inputs, training=False)

        reference = f(x).numpy()
        results[(b, t, d, u)] = dict(tf=median_time(lambda: f(x).numpy(), *cfg["tf"]), weights=model.get_weights(),
                                     reference=reference)
    return results


def onnx_lstm(kernel, recurrent_kernel, bias, d, u):
    """One ONNX LSTM node (opset 14) holding the Keras weights: Keras's gate blocks i, f, c, o reordered to
    ONNX's i, o, f, c; the bias as Wb with Rb zero. Outputs Y_h only."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def onnx_order(m):
        i, f, c, o = (m[..., k * u:(k + 1) * u] for k in range(4))
        return np.concatenate([i, o, f, c], axis=-1)

    inits = [numpy_helper.from_array(np.ascontiguousarray(onnx_order(kernel).T[None]), "W"),
             numpy_helper.from_array(np.ascontiguousarray(onnx_order(recurrent_kernel).T[None]), "R"),
             numpy_helper.from_array(np.concatenate([onnx_order(bias), np.zeros(4 * u, np.float32)])[None], "B")]
    node = helper.make_node("LSTM", ["X", "W", "R", "B"], ["", "Y_h"], hidden_size=u)
    graph = helper.make_graph([node], "keras_lstm",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["T", "N", d])],
                              [helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, "N", u])],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def ort_lstm_worker(shape, weights, reference, cfg, commands):
    """Checks ORT's Y_h against Keras, then times ORT and gru-run (1 and 2 threads each) in rounds, with the
    round's sgemm peak."""
    import onnxruntime as ort

    b, t, d, u = shape
    model_bytes = onnx_lstm(*weights, d, u)
    x_seq = np.ascontiguousarray(input_array(b, t, d).transpose(1, 0, 2))
    sessions, row = {}, {}
    for threads in (1, 2):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        sess = ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])
        diff = float(np.max(np.abs(sess.run(["Y_h"], {"X": x_seq})[0][0] - reference)))
        if diff >= MAX_DIFF:
            raise RuntimeError(f"ORT's LSTM Y_h differs from Keras for {shape_name(*shape)}: {diff:.3g}")
        row[f"ort{threads}_diff"] = diff
        sessions[threads] = sess
    rounds = {key: [] for key in ("ort1", "ort2", "gru1", "gru2", "sgemm2")}
    flops = 2 * b * t * 4 * u * (d + u)
    for _ in range(cfg["rounds"]):
        for threads in (1, 2):
            sess = sessions[threads]
            rounds[f"ort{threads}"].append(median_time(lambda: sess.run(["Y_h"], {"X": x_seq}), *cfg["ort"]))
        time.sleep(0.05)
        for threads in (1, 2):
            rounds[f"gru{threads}"].append(run_gru_bench(commands[threads])["median_ms"])
        rounds["sgemm2"].append(matmul_gflops(2, cfg["sgemm"][1][0], 3))
    row["peak_share"] = float(np.median([flops / (ms * 1e6) / peak for ms, peak in zip(rounds["gru2"], rounds["sgemm2"])]))
    for key, values in rounds.items():
        row[key] = float(np.median(values))
    row["gflops"] = flops / (row["gru2"] * 1e6)
    return row


def gru_run_diff(gru_run, shape, reference):
    """gru-run's whole output on the benchmark input against Keras's."""
    b, t, d, u = shape
    x = os.path.join(OUT, "inputs", f"lstm_x_{b}x{t}x{d}.npy")
    y = os.path.join(OUT, "outputs", f"lstm_y_{b}x{t}x{d}_{u}.npy")
    np.save(x, input_array(b, t, d))
    subprocess.run([gru_run, "--weights", lstm_model_path(d, u), "--input", x, "--output", y, "--quiet"], check=True)
    return float(np.max(np.abs(np.load(y) - reference)))


HEADERS = ["shape (B,T,D)->U", "gru-run 1t ms", "gru-run 2t ms", "ORT 1t ms", "ORT 2t ms", "tf-keras ms",
           "ORT-2t / gru-run", "ORT-1t / gru-run", "tf-keras / gru-run", "gru-run GFLOPS", "% sgemm peak 2t"]


def lstm_table(gru_run, cfg):
    """Prints the LSTM table and its targets; returns (headers, cells, note) for the Markdown at the end."""
    print("== LSTM table: float32, tf_keras.layers.LSTM (recurrent_activation sigmoid), weights N(0,1)*0.1, "
          "input N(0,1); the GRU table's shapes")
    print("  gru-run: `gru-run bench` on the whole model file, 1|2 threads; ORT: one LSTM op (opset 14) with the "
          "same weights, Y_h; tf-keras: warm @tf.function; GFLOPS: 2*B*T*4U*(D+U) / gru-run's 2-thread median")
    start = cpu_clock()
    keras = run_isolated(keras_lstm_worker, cfg)
    rows, cells = [], []
    for shape in SHAPES:
        b, t, d, u = shape
        commands = {threads: gru_bench_command(gru_run, lstm_model_path(d, u), b, t, *cfg["gru"], threads) for threads in (1, 2)}
        row = run_isolated(ort_lstm_worker, shape, keras[shape]["weights"], keras[shape]["reference"], cfg, commands)
        row["tf"] = keras[shape]["tf"]
        row["gru_diff"] = gru_run_diff(gru_run, shape, keras[shape]["reference"])
        if row["gru_diff"] >= MAX_DIFF:
            raise RuntimeError(f"gru-run's LSTM output differs from Keras for {shape_name(*shape)}: {row['gru_diff']:.3g}")
        print(f"  {shape_name(*shape)}: gru-run {row['gru1']:.3f} / {row['gru2']:.3f} ms, ORT {row['ort1']:.3f} / "
              f"{row['ort2']:.3f} ms, tf-keras {row['tf']:.3f} ms; against Keras: gru-run {row['gru_diff']:.1e}, "
              f"ORT {row['ort1_diff']:.1e}")
        rows.append((shape, row))
        g2 = row["gru2"]
        cells.append([shape_name(*shape), f"{row['gru1']:.3f}", f"{g2:.3f}", f"{row['ort1']:.3f}", f"{row['ort2']:.3f}",
                      f"{row['tf']:.3f}", f"{row['ort2'] / g2:.2f}x", f"{row['ort1'] / g2:.2f}x", f"{row['tf'] / g2:.2f}x",
                      f"{row['gflops']:.2f}", f"{100 * row['peak_share']:.1f}%"])
    note = load_note(start, "while the LSTM table was measured")
    print("\n" + format_table(HEADERS, cells) + "\n")
    print("== LSTM targets")
    for shape, row in rows:
        ratio = row["ort2"] / row["gru2"]
        print(f"  {shape_name(*shape)}: ORT-2t / gru-run-2t {ratio:.2f}x (target 1.5x): {'met' if ratio >= 1.5 else 'NOT met'}")
    shape, row = max(rows, key=lambda r: r[0][0] * r[0][1] * r[0][3])
    share = 100 * row["peak_share"]
    print(f"  {shape_name(*shape)}: {share:.1f}% of the sgemm peak (target 80%): {'met' if share >= 80 else 'NOT met'}\n")
    return HEADERS, cells, note

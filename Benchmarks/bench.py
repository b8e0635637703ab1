"""Benchmarks gru-run against ONNX Runtime and tf-keras on the same Keras GRU weights.

Run through `make bench`, or: python Benchmarks/bench.py --gru-run PATH [--quick] [--only main,lstm,models,load]
Models and inputs are written to Benchmarks/out/ and reused by later runs.
"""
import argparse
import hashlib
import importlib.metadata
import json
import multiprocessing
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore", category=UserWarning)

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out")
SHAPES = [(1, 100, 16, 32), (1, 1000, 32, 128), (1, 1000, 64, 256), (32, 200, 64, 128), (256, 100, 128, 256)]
PROCESS_JOB = (8, 200, 16, 64)
MAX_ORT_DIFF = 1e-4

MATMUL_SCRIPT = """
import sys, time, numpy as np
m, k, n, reps, dtype = *map(int, sys.argv[1:5]), sys.argv[5]
rng = np.random.default_rng(0)
a, b = rng.standard_normal((m, k), dtype=dtype), rng.standard_normal((k, n), dtype=dtype)
a @ b
times = []
for _ in range(reps):
    start = time.perf_counter(); a @ b; times.append(time.perf_counter() - start)
print(2 * m * k * n / float(np.median(times)) / 1e9)
"""

MAXRSS_SCRIPT = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gru-run", required=True, help="path of the gru-run binary")
    p.add_argument("--quick", action="store_true", help="fewer repeats, no 4096 sgemm: a rough look")
    p.add_argument("--only", type=sections, default=SECTIONS,
                   help=f"comma-separated sections to run, of {','.join(SECTIONS)} (default: all); main is every "
                        "section before the whole-model table")
    return p.parse_args()


SECTIONS = ("main", "lstm", "models", "load")


def sections(text):
    chosen = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"sections are {', '.join(SECTIONS)}; got {text!r}")
    return chosen


# (timed, warm-up) counts per runtime, sgemm (repeats, sizes), and runs of each whole-process timing.
# The main table interleaves gru-run and ORT in `rounds`, each timing gru/ort (timed, warm-up) calls.
# models: the whole-model table's rounds, TF/ORT warm-up and timed calls per round (also gru-run bench's passes
# in the per-layer times and the Dense(8000) product, which take as many rounds), gru-run processes per round,
# ORT thread counts; load: the load row's rounds (bench_models.py).
FULL = dict(gru=(7, 2), ort=(7, 2), rounds=7, tf=(7, 2), sgemm=(5, (2048, 4096)), py_proc=5, gru_proc=10,
            models=dict(rounds=5, warmup=2, repeat=5, gru_runs=3, ort_threads=(2, 1)), load=dict(rounds=5))
QUICK = dict(gru=(5, 1), ort=(5, 1), rounds=2, tf=(3, 1), sgemm=(3, (2048,)), py_proc=3, gru_proc=5,
             models=dict(rounds=2, warmup=1, repeat=3, gru_runs=1, ort_threads=(2, 1)), load=dict(rounds=2))


def median_time(fn, repeat, warmup):
    """Median wall time of fn() in milliseconds, after warm-up calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times))


def shape_name(b, t, d, u):
    return f"({b},{t},{d})->{u}"


def mb(n):
    return f"{n / 2**20:.1f} MB"


def command_output(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_info():
    """(model name, flags) from /proc/cpuinfo."""
    fields = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    return fields.get("model name", platform.processor() or "unknown"), fields.get("flags", "").split()


def cpu_clock():
    """(busy CPU seconds of the whole machine, CPU seconds of this process and its finished children, wall time)."""
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in f.readline().split()[1:9])
    machine = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    own = sum(r.ru_utime + r.ru_stime for r in usage)
    return machine, own, time.perf_counter()


def others_busy(since):
    """Percent of the machine's CPU used by other processes (and the hypervisor) since a cpu_clock()."""
    machine, own, now = cpu_clock()
    return max(0.0, 100 * ((machine - since[0]) - (own - since[1])) / ((now - since[2]) * os.cpu_count()))


def load_note(since, when):
    busy = others_busy(since)
    warning = " WARNING: timings disturbed" if busy > 5 else ""
    return f"other processes used {busy:.0f}% of the CPU {when}{warning}"


def snapshot(gru_run):
    """A copy of the binary to measure, so that a rebuild during the run changes nothing; and its description."""
    copy = os.path.join(OUT, "bin", "gru-run")
    shutil.copy2(gru_run, copy)
    with open(copy, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    built = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(gru_run)))
    git = command_output(["git", "-C", HERE, "describe", "--always", "--dirty"])
    return copy, f"{gru_run} built {built}, sha256 {digest}, source git {git}; measured as a copy in {copy}"


def print_machine(binary):
    version = importlib.metadata.version
    model, flags = cpu_info()
    with open("/proc/meminfo") as f:
        mem_gib = int(f.readline().split()[1]) / 2**20
    os_name = command_output(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"])
    blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    print("== Machine and versions")
    print(f"CPU: {model}, {os.cpu_count()} cores (usable {len(os.sched_getaffinity(0))}), AVX2={'avx2' in flags} "
          f"FMA={'fma' in flags} AVX-512F={'avx512f' in flags}, {mem_gib:.1f} GiB RAM, {os_name}, Linux {platform.release()}")
    print(f"Python {platform.python_version()}, numpy {np.__version__} (BLAS {blas.get('name', '?')} "
          f"{blas.get('version', '')}), tensorflow-cpu {version('tensorflow-cpu')}, tf-keras {version('tf-keras')}, "
          f"keras {version('keras')}, onnx {version('onnx')}, onnxruntime {version('onnxruntime')}, "
          f"tf2onnx {version('tf2onnx')}, h5py {version('h5py')}")
    print(f"Swift: {command_output(['swift', '--version']).splitlines()[0]}")
    print(f"gru-run: {binary}")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if var in os.environ:
            print(f"note: {var}={os.environ[var]} is set in the environment")
    start = cpu_clock()
    time.sleep(1)
    print(load_note(start, "in the second before the run"))
    print()


def matmul_gflops(threads, n, reps, dtype="float32"):
    """numpy matmul GFLOPS (float32: sgemm, float64: dgemm) of n x n @ n x n, or of m x k @ k x n when n is
    (m, k, n), in a fresh process with OPENBLAS_NUM_THREADS set."""
    m, k, n = n if isinstance(n, tuple) else (n, n, n)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", MATMUL_SCRIPT, str(m), str(k), str(n), str(reps), dtype],
                         env=env, capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def sgemm_peak(reps, sizes):
    """numpy float32 matmul GFLOPS per thread count and size; the best of the sizes is the peak. Also numpy's
    float64 matmul (dgemm) at the first size: the float64/float32 speed a BLAS itself reaches here."""
    print(f"== sgemm peak (numpy float32 n x n @ n x n, GFLOPS = 2n^3/t, median of {reps})")
    start, peak = cpu_clock(), {}
    for threads in (1, 2):
        for n in sizes:
            gflops = matmul_gflops(threads, n, reps)
            print(f"  {threads} thread{'s' if threads > 1 else ''}, n={n}: {gflops:.1f} GFLOPS")
            peak[threads] = max(peak.get(threads, 0.0), gflops)
    print(f"  peak used below: 1 thread {peak[1]:.1f}, 2 threads {peak[2]:.1f} GFLOPS")
    for threads in (1, 2):
        n = sizes[0]
        single, double = matmul_gflops(threads, n, reps), matmul_gflops(threads, n, reps, "float64")
        print(f"  float64 (dgemm), {threads} thread{'s' if threads > 1 else ''}, n={n}: {double:.1f} GFLOPS, "
              f"{double / single:.2f}x float32 measured next to it ({single:.1f})")
    print(f"  {load_note(start, 'meanwhile')}\n")
    return peak


def model_path(d, u, reset_after=True, return_sequences=False):
    name = f"gru_D{d}_U{u}_{'ra' if reset_after else 'rb'}{'_seq' if return_sequences else ''}.h5"
    return os.path.join(OUT, "models", name)


def ensure_model(d, u, reset_after=True, return_sequences=False):
    """Saves a full model Input((None, d)) -> GRU(u) with weights N(0,1)*0.1, unless the file exists."""
    import tf_keras
    from tf_keras.src.layers.rnn.gru_v1 import GRU as GRUv1

    path = model_path(d, u, reset_after, return_sequences)
    if os.path.exists(path):
        return
    gru = tf_keras.layers.GRU if reset_after else GRUv1
    layer = gru(u, reset_after=reset_after, recurrent_activation="sigmoid", return_sequences=return_sequences)
    model = tf_keras.Sequential([tf_keras.Input(shape=(None, d)), layer])
    rng = np.random.default_rng(1000 * d + u + (0 if reset_after else 1))
    model.set_weights([(rng.standard_normal(w.shape) * 0.1).astype(np.float32) for w in model.get_weights()])
    model.save(path[:-3] + ".partial.h5")  # renamed once complete, so an interrupted run leaves no bad model
    os.replace(path[:-3] + ".partial.h5", path)


def input_array(b, t, d):
    return np.random.default_rng(7 * b + t + d).standard_normal((b, t, d)).astype(np.float32)


def input_file(b, t, d):
    path = os.path.join(OUT, "inputs", f"x_{b}x{t}x{d}.npy")
    if not os.path.exists(path):
        np.save(path, input_array(b, t, d))
    return path


def output_file(name):
    return os.path.join(OUT, "outputs", name)


def gru_bench_command(gru_run, weights, b, t, repeat, warmup, threads, dtype=None):
    cmd = [gru_run, "bench", "--weights", weights, "--batch", str(b), "--timesteps", str(t),
           "--repeat", str(repeat), "--warmup", str(warmup), "--threads", str(threads), "--json"]
    return cmd + (["--dtype", dtype] if dtype else [])


def run_gru_bench(cmd):
    """The JSON object `gru-run bench` prints as its last line."""
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_isolated(fn, *args):
    """fn(*args) in a fresh Python process, so TensorFlow's and ONNX Runtime's thread pools never share one."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def keras_worker(cfg):
    """Creates every model the run needs (if missing), then times tf-keras on the main shapes.

    Returns TF's (intra, inter) thread settings and, per shape, the median ms, the weights and the output."""
    with open(os.path.join(OUT, "tensorflow.log"), "w") as log:  # TF's start-up lines (no GPU, ...) go there
        os.dup2(log.fileno(), 2)
    import tensorflow as tf
    import tf_keras

    tf.get_logger().setLevel("ERROR")
    for b, t, d, u in SHAPES:
        ensure_model(d, u)
        ensure_model(d, u, reset_after=False)
    ensure_model(*PROCESS_JOB[2:])
    ensure_model(*SHAPES[-1][2:], return_sequences=True)
    results = {}
    for b, t, d, u in SHAPES:
        model = tf_keras.models.load_model(model_path(d, u), compile=False)
        x = tf.constant(input_array(b, t, d))

        @tf.function
        def f(inputs):
            return model(inputs, training=False)

        reference = f(x).numpy()
        ms = median_time(lambda: f(x).numpy(), *cfg["tf"])
        results[(b, t, d, u)] = dict(tf=ms, weights=model.get_weights(), reference=reference)
    threads = (tf.config.threading.get_intra_op_parallelism_threads(),
               tf.config.threading.get_inter_op_parallelism_threads())
    return threads, results


def onnx_gru(kernel, recurrent_kernel, bias, d, u):
    """A single ONNX GRU node (opset 14, linear_before_reset=1) holding the Keras weights; outputs Y_h only."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.ascontiguousarray(kernel.T[None]), "W"),
             numpy_helper.from_array(np.ascontiguousarray(recurrent_kernel.T[None]), "R"),
             numpy_helper.from_array(np.concatenate([bias[0], bias[1]])[None], "B")]
    node = helper.make_node("GRU", ["X", "W", "R", "B"], ["", "Y_h"], hidden_size=u, linear_before_reset=1)
    graph = helper.make_graph([node], "keras_gru",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["T", "N", d])],
                              [helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, "N", u])],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def ort_worker(shape, weights, reference, cfg, gru_commands):
    """Checks ONNX Runtime's Y_h against Keras's output, then times ORT (1 and 2 intra-op threads) and
    gru-run (1 and 2 threads, `gru-run bench` subprocesses) in interleaved rounds, so that a spell of
    noise on the shared machine falls on every contender alike. Each result is the median of its
    per-round medians."""
    import onnxruntime as ort

    b, t, d, u = shape
    model_bytes = onnx_gru(*weights, d, u)
    x_seq = np.ascontiguousarray(input_array(b, t, d).transpose(1, 0, 2))
    sessions, row = {}, {}
    for threads in (1, 2):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        sess = ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])
        diff = float(np.max(np.abs(sess.run(["Y_h"], {"X": x_seq})[0][0] - reference)))
        if diff >= MAX_ORT_DIFF:
            raise RuntimeError(f"ORT Y_h differs from Keras for {shape_name(*shape)}, {threads} threads: {diff:.3g}")
        row[f"ort{threads}_diff"] = diff
        sessions[threads] = sess
    rounds = {key: [] for key in ("ort1", "ort2", "gru1", "gru2", "sgemm2")}
    flops, kernels = None, set()
    for _ in range(cfg["rounds"]):
        for threads in (1, 2):
            sess = sessions[threads]
            rounds[f"ort{threads}"].append(median_time(lambda: sess.run(["Y_h"], {"X": x_seq}), *cfg["ort"]))
        time.sleep(0.05)  # ORT's pool threads stop spinning before gru-run starts
        for threads in (1, 2):
            result = run_gru_bench(gru_commands[threads])
            flops = result["gflops"] * result["median_ms"] * 1e6
            kernels.add(result.get("kernels", "?"))
            rounds[f"gru{threads}"].append(result["median_ms"])
        # The machine's peak in the same round, so that a slow or fast spell falls on both.
        rounds["sgemm2"].append(matmul_gflops(2, cfg["sgemm"][1][0], 3))
    shares = [flops / (ms * 1e6) / peak for ms, peak in zip(rounds["gru2"], rounds["sgemm2"])]
    row["peak_share"] = float(np.median(shares))
    for key, values in rounds.items():
        row[key] = float(np.median(values))
    for threads in (1, 2):
        ms = row.pop(f"gru{threads}")
        row[f"gru{threads}"] = dict(median_ms=ms, gflops=flops / (ms * 1e6), rounds=rounds[f"gru{threads}"],
                                    kernels=",".join(sorted(kernels)))
    return row


def measure_shape(gru_run, cfg, shape, keras):
    """One main-table row: gru-run and ORT (1, 2 threads each, interleaved in ORT's own process) and tf-keras."""
    b, t, d, u = shape
    start = cpu_clock()
    row = {"shape": shape, "tf": keras["tf"]}
    commands = {threads: gru_bench_command(gru_run, model_path(d, u), b, t, *cfg["gru"], threads) for threads in (1, 2)}
    row.update(run_isolated(ort_worker, shape, keras["weights"], keras["reference"], cfg, commands))
    print(f"  {shape_name(*shape)}: gru-run {row['gru1']['median_ms']:.3f} / {row['gru2']['median_ms']:.3f} ms "
          f"(1/2 threads), ORT {row['ort1']:.3f} / {row['ort2']:.3f} ms, tf-keras {row['tf']:.3f} ms; "
          f"check ORT Y_h vs Keras output: max abs diff {row['ort1_diff']:.2e} (1 thread), "
          f"{row['ort2_diff']:.2e} (2 threads) < {MAX_ORT_DIFF:g}: OK; {load_note(start, 'meanwhile')}")
    return row


MAIN_HEADERS = ["shape (B,T,D)->U", "gru-run 1t ms", "gru-run 2t ms", "ORT 1t ms", "ORT 2t ms", "tf-keras ms",
                "ORT-2t / gru-run", "ORT-1t / gru-run", "tf-keras / gru-run", "gru-run GFLOPS", "% sgemm peak 2t"]


def format_table(headers, rows, markdown=False):
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    fmt = lambda cells: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([fmt(headers), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])


def main_table_rows(rows, peak):
    out = []
    for r in rows:
        g1, g2, gflops = r["gru1"]["median_ms"], r["gru2"]["median_ms"], r["gru2"]["gflops"]
        out.append([shape_name(*r["shape"]), f"{g1:.3f}", f"{g2:.3f}", f"{r['ort1']:.3f}", f"{r['ort2']:.3f}",
                    f"{r['tf']:.3f}", f"{r['ort2'] / g2:.2f}x", f"{r['ort1'] / g2:.2f}x", f"{r['tf'] / g2:.2f}x",
                    f"{gflops:.2f}", f"{100 * r['peak_share']:.1f}%"])
    return out


# RTNeural (C++, Eigen, compile-time sizes, -march=native with AVX-512) and ONNX Runtime with 1 thread on a
# 2.0 GHz Intel Xeon (Skylake-SP), ms per pass of the batch-1 shapes, both checked against Keras: the figures
# gru-run's 1-thread time is held to, carried to this machine through ONNX Runtime's 1-thread time here.
RTNEURAL_REFERENCE = {(1, 100, 16, 32): (0.051, 0.27), (1, 1000, 32, 128): (5.43, 9.9), (1, 1000, 64, 256): (33.6, 34.0)}


def targets(rows):
    """Each row against the speed targets: 1.5x ONNX Runtime's 2-thread time, 80% of the sgemm peak on the
    largest shape, and at batch 1 on one thread RTNeural's time scaled by ORT's 1-thread time."""
    print("== Targets")
    print(f"  kernels gru-run ran: {', '.join(sorted({r['gru1'].get('kernels', '?') for r in rows}))}")
    for r in rows:
        ratio = r["ort2"] / r["gru2"]["median_ms"]
        print(f"  {shape_name(*r['shape'])}: ORT-2t / gru-run-2t {ratio:.2f}x (target 1.5x): {'met' if ratio >= 1.5 else 'NOT met'}")
    largest = max(rows, key=lambda r: r["shape"][0] * r["shape"][1] * r["shape"][3])
    share = 100 * largest["peak_share"]
    print(f"  {shape_name(*largest['shape'])}: {share:.1f}% of the sgemm peak (target 80%): {'met' if share >= 80 else 'NOT met'}")
    for r in rows:
        if tuple(r["shape"]) not in RTNEURAL_REFERENCE:
            continue
        rtneural, ort_there = RTNEURAL_REFERENCE[tuple(r["shape"])]
        scaled = rtneural * r["ort1"] / ort_there
        g1 = r["gru1"]["median_ms"]
        print(f"  {shape_name(*r['shape'])} 1 thread: gru-run {g1:.3f} ms; RTNeural {rtneural} ms x ORT-1t here "
              f"{r['ort1']:.3f} / there {ort_there} = {scaled:.3f} ms: {'met' if g1 < scaled else 'NOT met'} "
              f"(gru-run / ORT-1t {g1 / r['ort1']:.3f}, RTNeural / ORT-1t there {rtneural / ort_there:.3f})")
    print()


def variants_table(gru_run, cfg, rows):
    """gru-run alone, 2 threads: reset_after=False and float64 next to float32 reset_after=True, the three
    interleaved in rounds; each figure is the median of its per-round medians."""
    print(f"== Variants (gru-run only, 2 threads; the three alternate in {cfg['rounds']} rounds of gru-run bench, "
          "median of the per-round medians)")
    print("  reset_after=False: model made with tf_keras.src.layers.rnn.gru_v1.GRU(reset_after=False, "
          "recurrent_activation='sigmoid')")
    print("  float64: the main float32 model run with --dtype float64 (weights widened, computed in float64)")
    print(f"  f64 % dgemm peak 2t: each round also times numpy's float64 matmul on 2 threads (n={cfg['sgemm'][1][0]}, "
          "median of 3, fresh process); the median over rounds of gru-run's float64 GFLOPS / that round's")
    start, table = cpu_clock(), []
    for r in rows:
        b, t, d, u = r["shape"]
        commands = dict(base=gru_bench_command(gru_run, model_path(d, u), b, t, *cfg["gru"], 2),
                        before=gru_bench_command(gru_run, model_path(d, u, reset_after=False), b, t, *cfg["gru"], 2),
                        f64=gru_bench_command(gru_run, model_path(d, u), b, t, *cfg["gru"], 2, dtype="float64"))
        results = {key: [] for key in commands}
        dgemm = []
        for _ in range(cfg["rounds"]):
            for key, cmd in commands.items():
                results[key].append(run_gru_bench(cmd))
            dgemm.append(matmul_gflops(2, cfg["sgemm"][1][0], 3, "float64"))
        assert results["f64"][0]["dtype"] == "float64" and results["before"][0]["reset_after"] is False
        ms = {key: float(np.median([x["median_ms"] for x in values])) for key, values in results.items()}
        f64_gflops = results["f64"][0]["gflops"] * results["f64"][0]["median_ms"] / ms["f64"]
        flops = results["f64"][0]["gflops"] * results["f64"][0]["median_ms"] * 1e6
        share = float(np.median([flops / (x["median_ms"] * 1e6) / peak for x, peak in zip(results["f64"], dgemm)]))
        table.append([shape_name(b, t, d, u), f"{ms['base']:.3f}", f"{ms['before']:.3f}",
                      f"{ms['before'] / ms['base']:.2f}", f"{ms['f64']:.3f}",
                      f"{ms['f64'] / ms['base']:.2f}", f"{ms['base'] / ms['f64']:.2f}", f"{f64_gflops:.2f}",
                      f"{100 * share:.1f}%"])
    headers = ["shape (B,T,D)->U", "f32 reset_after=True ms", "f32 reset_after=False ms", "False/True time",
               "f64 reset_after=True ms", "f64/f32 time", "f64 speed / f32 speed", "f64 GFLOPS", "f64 % dgemm peak 2t"]
    print(format_table(headers, table))
    print(f"  {load_note(start, 'meanwhile')}\n")
    return table


def whole_process(gru_run, cfg):
    b, t, d, u = PROCESS_JOB
    start = cpu_clock()
    weights, x_path = model_path(d, u), input_file(b, t, d)
    y_gru, y_py = output_file("process_gru_run.npy"), output_file("process_keras.npy")
    gru_cmd = [gru_run, "--weights", weights, "--input", x_path, "--output", y_gru]
    py_cmd = [sys.executable, os.path.join(HERE, "keras_predict.py"), weights, x_path, y_py]
    run = lambda cmd: subprocess.run(cmd, check=True, capture_output=True)
    gru_ms = median_time(lambda: run(gru_cmd), cfg["gru_proc"], 0)
    py_ms = median_time(lambda: run(py_cmd), cfg["py_proc"], 0)
    diff = float(np.max(np.abs(np.load(y_gru) - np.load(y_py))))
    print(f"== Whole process: {shape_name(*PROCESS_JOB)} job, .npy in -> .npy out, wall time of each process")
    print(f"  gru-run --weights m.h5 --input x.npy --output y.npy: median {gru_ms:.1f} ms "
          f"of {cfg['gru_proc']} runs")
    print(f"  python Benchmarks/keras_predict.py (import tf_keras, load_model, np.load, predict, np.save): "
          f"median {py_ms:.1f} ms of {cfg['py_proc']} runs")
    print(f"  python / gru-run: {py_ms / gru_ms:.1f}x; the two outputs differ by at most {diff:.2e}")
    print(f"  {load_note(start, 'meanwhile')}\n")


def ensure_head_model(d, u):
    """The main table's GRU(u) model with a Dense(1) head behind it: Input -> GRU 'gru' -> Dense 'head'."""
    import tf_keras

    path = os.path.join(OUT, "models", f"gru_dense1_D{d}_U{u}.h5")
    if os.path.exists(path):
        return path
    ensure_model(d, u)
    gru_model = tf_keras.models.load_model(model_path(d, u), compile=False)
    inputs = tf_keras.Input(shape=(None, d))
    gru = tf_keras.layers.GRU(u, reset_after=True, recurrent_activation="sigmoid", name="gru")
    model = tf_keras.Model(inputs, tf_keras.layers.Dense(1, name="head")(gru(inputs)))
    rng = np.random.default_rng(17 * d + u)
    gru.set_weights(gru_model.layers[-1].get_weights())
    model.get_layer("head").set_weights([(rng.standard_normal(w.shape) * 0.1).astype(np.float32)
                                         for w in model.get_layer("head").get_weights()])
    model.save(path[:-3] + ".partial.h5")
    os.replace(path[:-3] + ".partial.h5", path)
    return path


def whole_model(gru_run, cfg):
    """GRU -> Dense(1) run whole against its GRU alone (--layer gru), whole processes taken in turn."""
    b, t, d, u = SHAPES[-1]
    start = cpu_clock()
    weights, x_path = ensure_head_model(d, u), input_file(b, t, d)
    whole = [gru_run, "--weights", weights, "--input", x_path, "--output", output_file("whole_model.npy")]
    alone = [gru_run, "--weights", weights, "--layer", "gru", "--input", x_path, "--output", output_file("whole_gru.npy")]
    run = lambda cmd: subprocess.run(cmd, check=True, capture_output=True)
    ratios, whole_ms, alone_ms = [], [], []
    for _ in range(cfg["gru_proc"]):
        whole_ms.append(median_time(lambda: run(whole), 1, 0))
        alone_ms.append(median_time(lambda: run(alone), 1, 0))
        ratios.append(whole_ms[-1] / alone_ms[-1])
    print(f"== Whole model: {shape_name(b, t, d, u)} GRU -> Dense(1), whole process, the model and its GRU alone in turn")
    print(f"  gru-run --weights m.h5 (whole model): median {np.median(whole_ms):.1f} ms; with --layer gru: "
          f"median {np.median(alone_ms):.1f} ms; whole / GRU alone, pair by pair: median {np.median(ratios):.3f} "
          f"({'within' if np.median(ratios) <= 1.10 else 'OVER'} the 1.10 target)")
    print(f"  {load_note(start, 'meanwhile')}\n")


def peak_rss(cmd):
    """Max RSS in bytes of cmd, run as the only child of a fresh Python process (RUSAGE_CHILDREN)."""
    out = subprocess.run([sys.executable, "-c", MAXRSS_SCRIPT, *cmd], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) * 1024


def peak_memory(gru_run):
    b, t, d, u = SHAPES[-1]
    x_path = input_file(b, t, d)
    in_bytes, weight_bytes = b * t * d * 4, 4 * 3 * u * (d + u + 2)
    print(f"== Peak memory: gru-run on {shape_name(b, t, d, u)}, input .npy on disk, output to .npy")
    print("  max RSS of the gru-run process: getrusage(RUSAGE_CHILDREN).ru_maxrss in a fresh subprocess; "
          "budget = input + output + weights + 16 MB")
    for seq in (False, True):
        weights = model_path(d, u, return_sequences=seq)
        rss = peak_rss([gru_run, "--weights", weights, "--input", x_path,
                        "--output", output_file(f"memory{'_seq' if seq else ''}.npy")])
        out_bytes = b * (t if seq else 1) * u * 4
        budget = in_bytes + out_bytes + weight_bytes + 16 * 2**20
        print(f"  return_sequences={seq}: max RSS {mb(rss)} vs budget {mb(budget)} (input {mb(in_bytes)} + output "
              f"{mb(out_bytes)} + weights {mb(weight_bytes)} + 16 MB): {'within' if rss <= budget else 'OVER'}")
    tiny = peak_rss([gru_run, "--weights", model_path(d, u), "--input", input_file(1, 1, d),
                     "--output", output_file("memory_tiny.npy")])
    print(f"  for scale: the same model on a (1,1,{d}) input peaks at {mb(tiny)} (runtime, libraries, weights)\n")


def main_sections(gru_run, cfg):
    """The sections before the whole-model table; returns what the Markdown at the end needs."""
    peak = sgemm_peak(*cfg["sgemm"])

    print("== Main table: float32, tf_keras.layers.GRU(reset_after=True, recurrent_activation='sigmoid'), "
          "weights N(0,1)*0.1, input N(0,1)")
    print("  models in Benchmarks/out/models (made once, then reused); tf-keras and ONNX Runtime each run in a "
          "fresh process of their own")
    start = cpu_clock()
    tf_threads, keras = run_isolated(keras_worker, cfg)
    print(f"  tf-keras timed in its own process; {load_note(start, 'meanwhile')}")
    print(f"  gru-run and ORT alternate in {cfg['rounds']} rounds (ORT 1t, ORT 2t, gru-run 1t, gru-run 2t); each "
          "figure is the median of its per-round medians")
    print(f"  gru-run: `gru-run bench --repeat {cfg['gru'][0]} --warmup {cfg['gru'][1]} --threads 1|2 --json` per round, "
          "median_ms (its own synthetic N(0,1) input)")
    print(f"  ORT: one GRU op (opset 14, linear_before_reset=1) with the same weights, X (T,B,D), output Y_h; "
          f"intra_op 1|2, inter_op 1, sequential; per round the median of {cfg['ort'][0]} warm sess.run after "
          f"{cfg['ort'][1]}")
    print(f"  tf-keras: @tf.function f(x) = model(x, training=False), median of {cfg['tf'][0]} warm calls of "
          f"f(x).numpy() after the tracing call and {cfg['tf'][1]} more; TF threads left at default "
          f"(intra_op {tf_threads[0]}, inter_op {tf_threads[1]}; 0 = TF's choice, all {os.cpu_count()} cores)")
    print("  ratios: that runtime's median / gru-run's 2-thread median (>1: gru-run faster); "
          "GFLOPS: 2*B*T*3U*(D+U) / gru-run's 2-thread median")
    print(f"  % sgemm peak 2t: each round also times numpy's sgemm on 2 threads (n={cfg['sgemm'][1][0]}, median of 3, "
          "fresh process); the median over rounds of gru-run's 2-thread GFLOPS / that round's sgemm GFLOPS")
    rows = [measure_shape(gru_run, cfg, shape, keras[shape]) for shape in SHAPES]
    table, main_note = main_table_rows(rows, peak), load_note(start, "while the main table was measured")
    print("\n" + format_table(MAIN_HEADERS, table) + "\n")
    targets(rows)

    variants_table(gru_run, cfg, rows)
    whole_process(gru_run, cfg)
    whole_model(gru_run, cfg)
    peak_memory(gru_run)
    return table, main_note, peak


def main():
    import bench_lstm    # the LSTM table's module, and
    import bench_models  # the whole-model sections' module; each imports this file (as bench) for the helpers above

    args = parse_args()
    for folder in ("bin", "models", "inputs", "outputs"):
        os.makedirs(os.path.join(OUT, folder), exist_ok=True)
    gru_run, binary = snapshot(os.path.abspath(args.gru_run))
    cfg = QUICK if args.quick else FULL
    began = cpu_clock()
    print_machine(binary)
    if "main" in args.only:
        table, main_note, peak = main_sections(gru_run, cfg)
    if "lstm" in args.only:
        lstm_table = bench_lstm.lstm_table(gru_run, cfg)
    if "models" in args.only:
        models_table = bench_models.whole_model_table(gru_run, cfg)
    if "load" in args.only:
        bench_models.load_row(gru_run, cfg)

    if "main" in args.only:
        print("== Main table as Markdown\n")
        print(format_table(MAIN_HEADERS, table, markdown=True))
        print(f"\nMedians in ms{' (--quick)' if args.quick else ''}; {cpu_info()[0]}, {os.cpu_count()} cores; "
              f"sgemm peak {peak[1]:.1f} GFLOPS (1 thread), {peak[2]:.1f} GFLOPS (2 threads); {main_note}.\n")
    if "lstm" in args.only:
        headers, cells, lstm_note = lstm_table
        print("== LSTM table as Markdown\n")
        print(format_table(headers, cells, markdown=True))
        print(f"\nMedians in ms{' (--quick)' if args.quick else ''}; {cpu_info()[0]}, {os.cpu_count()} cores; {lstm_note}.\n")
    if "models" in args.only:
        headers, cells, notes, models_note, after_table = models_table
        print("== Whole-model table as Markdown\n")
        print(format_table(headers, cells, markdown=True))
        for i, note in enumerate(notes, 1):
            print(f"\n[{i}] {note}")
        for title, lines in after_table.items():
            print(f"\n{title}:\n\n" + "\n".join(f"- {line}" for line in lines))
        print(f"\nMedians in ms{' (--quick)' if args.quick else ''}; {cpu_info()[0]}, {os.cpu_count()} cores; "
              f"{models_note}.\n")
    print(f"bench.py took {time.perf_counter() - began[2]:.0f} s; {load_note(began, 'during the run')}")


if __name__ == "__main__":
    main()

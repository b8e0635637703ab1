#!/usr/bin/env python3
"""Runs gru-run on deterministically damaged copies of Fixtures .h5 files.

    python3 Fuzz/mutate_h5.py --gru-run "$(swift build -c release --show-bin-path)/gru-run"
    make mutate-h5                       (builds the release binary first)

Each base file below (Keras 2 and 3, whole models and weights-only files, Keras 2.1, CuDNNGRU,
Bidirectional, stacked) is copied with a few bytes flipped, bytes overwritten, runs zeroed or set
to 0xFF, its model_config text changed, or the file cut short, from a seeded random generator:
the same --seed gives the same mutants. gru-run runs on each with the base's own x1.npy:

    gru-run --weights MUTANT --input x1.npy --output OUT.npy

and must end in one of two ways: exit 0 with OUT.npy written, or exit 64/65/66/74 with exactly
one line on stderr that starts with "gru-run: ". A signal, another exit status, a timeout, HDF5's
own error stack (HDF5-DIAG) on stderr, or a second line of stderr is a violation: the script
prints the counts of outcomes, keeps each violating mutant (with its stderr) in --keep, lists the
first few, and exits 1. Python 3 standard library only.
"""
import argparse
import collections
import concurrent.futures
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (label, weights file, input, more gru-run arguments), paths relative to the repository root:
# different kinds of Keras files.
BASES = [
    ("tfk-model", "Fixtures/tfkeras/grid_ra1_sigmoid_fwd_seq_mask/model.h5", "Fixtures/tfkeras/grid_ra1_sigmoid_fwd_seq_mask/x1.npy", ()),
    ("tfk-weights", "Fixtures/tfkeras/grid_ra0_hardsig_bwd_last/weights.h5", "Fixtures/tfkeras/grid_ra0_hardsig_bwd_last/x1.npy", ()),
    ("tfk-float64", "Fixtures/tfkeras/float64_ra1_sigmoid_seq/model.h5", "Fixtures/tfkeras/float64_ra1_sigmoid_seq/x1.npy", ()),
    ("tfk-functional", "Fixtures/tfkeras/return_state_ra0_last/model.h5", "Fixtures/tfkeras/return_state_ra0_last/x1.npy", ()),
    ("tfk-gru-dense", "Fixtures/tfkeras_other/gru_dense.h5", "Fixtures/tfkeras_other/x.npy", ("--layer", "encoder")),
    ("k21-model", "Fixtures/legacy/k21_gru_last/model.h5", "Fixtures/legacy/k21_gru_last/x1.npy", ()),
    ("cudnn-model", "Fixtures/legacy/cudnn_gru_seq/model.h5", "Fixtures/legacy/cudnn_gru_seq/x1.npy", ()),
    ("tfk-bidi", "Fixtures/legacy/tfk_bidi_concat_seq/model.h5", "Fixtures/legacy/tfk_bidi_concat_seq/x1.npy", ()),
    ("k3-weights", "Fixtures/keras3/k3_gru_seq/model.weights.h5", "Fixtures/keras3/k3_gru_seq/x1.npy", ()),
    ("k3-legacy-stack", "Fixtures/keras3/k3_stack_gru_bidi_mask/model.h5", "Fixtures/keras3/k3_stack_gru_bidi_mask/x1.npy", ()),
]

# Mutation kinds and how often each is drawn.
KINDS = [("bitflip", 20), ("bytes", 20), ("ones", 15), ("zeros", 10), ("config", 15), ("truncate", 20)]

ALLOWED_ERRORS = {64, 65, 66, 74}
HDF5_STACK = re.compile(r"HDF5-DIAG|^\s*#\d{3}: ", re.MULTILINE)


def mutate(data, rng):
    """One damaged copy of `data` and a description of the damage."""
    data = bytearray(data)
    kind = rng.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]
    config = data.find(b'{"class_name"')
    if kind == "config" and config < 0:
        kind = "bytes"
    # Metadata (superblock, object headers, B-trees, heaps) is mostly near the start and between the
    # datasets; half of the point mutations aim at the first 4 KiB, half anywhere.
    def offset():
        return rng.randrange(min(len(data), 4096)) if rng.random() < 0.5 else rng.randrange(len(data))

    if kind == "bitflip":
        spots = []
        for _ in range(rng.randint(1, 4)):
            at, bit = offset(), rng.randrange(8)
            data[at] ^= 1 << bit
            spots.append(f"{at}.{bit}")
        what = "bit flips at " + ",".join(spots)
    elif kind == "bytes":
        spots = []
        for _ in range(rng.randint(1, 8)):
            at, value = offset(), rng.randrange(256)
            data[at] = value
            spots.append(f"{at}={value:02x}")
        what = "bytes " + ",".join(spots)
    elif kind == "ones":
        width = rng.choice([2, 4, 8])
        at = offset() // width * width
        data[at:at + width] = b"\xff" * len(data[at:at + width])
        what = f"{width} bytes of 0xff at {at}"
    elif kind == "zeros":
        length = rng.randint(8, 256)
        at = offset()
        data[at:at + length] = bytes(len(data[at:at + length]))
        what = f"{length} zero bytes at {at}"
    elif kind == "config":
        end = data.find(b"\x00", config)
        end = len(data) if end < 0 else end
        spots = []
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(config, end)
            value = rng.choice(b'{}[]":,0123456789.+-eE \\ntruefalsnul') if rng.random() < 0.8 else rng.randrange(256)
            data[at] = value
            spots.append(f"{at}={value:02x}")
        what = "model_config bytes " + ",".join(spots)
    else:  # truncate
        length = rng.choice([0, 8, 96, 512, len(data) // 2, len(data) - 1]) if rng.random() < 0.25 \
            else rng.randrange(len(data))
        del data[length:]
        what = f"truncated to {length} bytes"
    return bytes(data), kind, what


def run(gru_run, weights, input_path, extra, output, timeout):
    """gru-run's exit status (negative for a signal, None for a timeout) and its stderr."""
    try:
        done = subprocess.run([gru_run, "--weights", str(weights), "--input", str(input_path), *extra,
                               "--output", str(output)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        return None, (expired.stderr or b"").decode("utf-8", "replace")
    return done.returncode, done.stderr.decode("utf-8", "replace")


def judge(status, stderr, output):
    """(outcome, violation or None) of one run."""
    if status is None:
        return "timeout", "no exit within the timeout"
    if status < 0:
        return f"signal {-status}", f"killed by signal {-status}"
    if HDF5_STACK.search(stderr):
        return f"exit {status}", "HDF5's own error stack on stderr"
    if status == 0:
        if not output.exists() or output.stat().st_size == 0:
            return "exit 0", "exit 0 but no output file"
        return "exit 0", None
    if status not in ALLOWED_ERRORS:
        return f"exit {status}", f"exit status {status} is none of 0, 64, 65, 66, 74"
    lines = stderr.splitlines()
    if len(lines) != 1:
        return f"exit {status}", f"{len(lines)} lines on stderr, not one"
    if not lines[0].startswith("gru-run: "):
        return f"exit {status}", "stderr does not start with 'gru-run: '"
    return f"exit {status}", None


def headline(stderr):
    """The lines of stderr worth listing: for a crash, Swift's verdict and the crashing frame."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    crash = [line.strip("* ") for line in lines if line.startswith("*** Program crashed")]
    if crash:
        return crash + [line for line in lines if re.match(r"0\s+0x", line)][:1]
    return lines[:2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gru-run", required=True, help="the gru-run binary (the release build)")
    parser.add_argument("--count", type=int, default=400, help="mutants in all, shared among the base files (400)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    parser.add_argument("--timeout", type=float, default=10, help="seconds per run (10)")
    parser.add_argument("--memory-mb", type=int, default=4096, help="address-space limit of each run, in MiB (4096)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="runs at once (2)")
    parser.add_argument("--keep", default=str(ROOT / ".build-fuzz" / "mutate-h5"),
                        help="scratch folder for the violating mutants (.build-fuzz/mutate-h5)")
    parser.add_argument("--show", type=int, default=10, help="violations to list, and most common messages (10)")
    args = parser.parse_args()

    gru_run = Path(args.gru_run).resolve()
    if not os.access(gru_run, os.X_OK):
        sys.exit(f"mutate_h5.py: {gru_run} is not an executable (build it: swift build -c release --product gru-run)")
    # Inherited by every gru-run: a mutant that makes it ask for more fails its allocation.
    resource.setrlimit(resource.RLIMIT_AS, (args.memory_mb << 20, args.memory_mb << 20))
    keep = Path(args.keep)
    shutil.rmtree(keep, ignore_errors=True)
    keep.mkdir(parents=True)

    with tempfile.TemporaryDirectory(prefix="mutate-h5-") as scratch:
        scratch = Path(scratch)
        # The undamaged files must run, or the mutants test nothing.
        for label, weights, input_path, extra in BASES:
            output = scratch / f"base-{label}.npy"
            status, stderr = run(gru_run, ROOT / weights, ROOT / input_path, extra, output, args.timeout)
            if status != 0 or not output.exists():
                sys.exit(f"mutate_h5.py: the undamaged {weights} fails (status {status}): {stderr.strip()}")

        mutants = []
        per_base = max(1, args.count // len(BASES))
        for label, weights, input_path, extra in BASES:
            rng = random.Random(f"{args.seed}:{label}")
            data = (ROOT / weights).read_bytes()
            for index in range(per_base):
                damaged, kind, what = mutate(data, rng)
                path = scratch / f"{label}-{index:03d}-{kind}.h5"
                path.write_bytes(damaged)
                mutants.append((path, kind, what, weights, ROOT / input_path, extra))

        def one(mutant):
            path, kind, what, weights, input_path, extra = mutant
            output = path.with_suffix(".out.npy")
            status, stderr = run(gru_run, path, input_path, extra, output, args.timeout)
            outcome, violation = judge(status, stderr, output)
            return mutant, status, stderr, outcome, violation

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = list(pool.map(one, mutants))

        outcomes = collections.Counter()
        by_kind = collections.defaultdict(collections.Counter)
        messages = collections.Counter()
        violations = []
        for (path, kind, what, weights, input_path, extra), status, stderr, outcome, violation in results:
            outcomes[outcome] += 1
            by_kind[kind][outcome] += 1
            if stderr.strip() and not violation:
                # The message without the file name and numbers, to group alike errors.
                text = stderr.splitlines()[0].replace(str(path), "MUTANT")
                messages[re.sub(r"\d+", "N", text)] += 1
            if violation:
                saved = keep / path.name
                shutil.copyfile(path, saved)
                saved.with_suffix(".stderr.txt").write_text(
                    "$ " + " ".join([str(gru_run), "--weights", str(saved), "--input", str(input_path), *extra, "--output", "OUT.npy"]) + "\n"
                    f"base: {weights}\nmutation: {what}\nstatus: {status}\n\n{stderr}")
                violations.append((saved, weights, what, outcome, violation, stderr))

    print(f"mutate_h5: {len(results)} mutants of {len(BASES)} files (seed {args.seed}), {gru_run}")
    for outcome, count in sorted(outcomes.items()):
        print(f"  {outcome:<12} {count:5d}")
    print("  by mutation: " + "; ".join(
        f"{kind} " + ", ".join(f"{o} {n}" for o, n in sorted(by_kind[kind].items())) for kind, _ in KINDS if kind in by_kind))
    if args.show and messages:
        print(f"  most common messages (numbers as N, the mutant's path as MUTANT):")
        for text, count in messages.most_common(args.show):
            print(f"    {count:4d}  {text[:160]}")
    print(f"  violations   {len(violations):5d}")
    for saved, weights, what, outcome, violation, stderr in violations[:args.show]:
        print(f"  - {saved} ({weights}, {what}): {outcome}: {violation}")
        for line in headline(stderr):
            print(f"      {line[:200]}")
    if violations:
        print(f"  violating mutants and their stderr are in {keep}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

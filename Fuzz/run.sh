#!/bin/bash
# Builds the libFuzzer harnesses (Sources/Fuzz) with AddressSanitizer into .build-fuzz, then runs each
# for FUZZ_SECONDS seconds on its seed corpus. Exits non-zero when any harness finds a crash.
#
#   Fuzz/run.sh [npy|csv|config]...        (default: all three, one after the other)
#
# Environment: FUZZ_SECONDS (default 60), SWIFT (default swift), FUZZ_ARGS (more libFuzzer flags).
# Each harness first replays its saved crashes, Tests/Corpus/fuzz-regressions/<name>-*, once each.
# New inputs go to .build-fuzz/corpus/<name>/, crashing inputs to .build-fuzz/artifacts/<name>/,
# each run's log to .build-fuzz/logs/<name>.log. None of .build-fuzz is committed.
set -uo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
SCRATCH=.build-fuzz
HARNESSES=("$@")
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=(npy csv config)

# `--sanitize fuzzer` makes SwiftPM link libFuzzer's own main instead of the executable's entry point.
# The instrumentation comes from -Xswiftc -sanitize=fuzzer,address: given `--sanitize fuzzer --sanitize
# address`, the Swift driver hands only the last -sanitize to the compiler and drops the coverage.
# -DFUZZING leaves out the harnesses' replay entry point (Sources/Fuzz/Support).
BUILD=("$SWIFT" build -c debug --scratch-path "$SCRATCH" --sanitize fuzzer
       -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING)

for name in "${HARNESSES[@]}"; do
    case $name in npy|csv|config) ;; *) echo "Fuzz/run.sh: unknown harness '$name' (npy, csv, config)" >&2; exit 64 ;; esac
    echo "Building fuzz-$name (debug, libFuzzer + AddressSanitizer, $SCRATCH)"
    # gold warns once per ASan register-check helper that it cannot export it: harmless, and hundreds of lines.
    "${BUILD[@]}" --product "fuzz-$name" 2>&1 | grep -v "Cannot export local symbol '__asan"
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "Fuzz/run.sh: building fuzz-$name failed" >&2; exit 1; }
done
BIN=$("${BUILD[@]}" --show-bin-path) || exit 1

# Swift's own crash backtracer would run inside the crashing process first, and its reads of the
# stack trip AddressSanitizer, which then reports them instead of the crash: leave crashes to libFuzzer.
export SWIFT_BACKTRACE=enable=no

status=0
summary=()
for name in "${HARNESSES[@]}"; do
    corpus=$SCRATCH/corpus/$name
    artifacts=$SCRATCH/artifacts/$name
    log=$SCRATCH/logs/$name.log
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    # Inputs that crashed before (Tests/Corpus/fuzz-regressions/<name>-*) run once each first.
    regressions=(Tests/Corpus/fuzz-regressions/"$name"-*)
    if [ -e "${regressions[0]}" ]; then
        if ! "$BIN/fuzz-$name" "${regressions[@]}" >"$log.regressions" 2>&1; then
            status=1
            echo "---- fuzz-$name: a regression input still crashes; from $log.regressions:" >&2
            grep -m1 -B1 -A14 -E 'deadly signal|^==[0-9]+==ERROR' "$log.regressions" >&2
            summary+=("fuzz-$name: a regression input in Tests/Corpus/fuzz-regressions still crashes (log $log.regressions)")
        fi
    fi
    echo "Fuzzing fuzz-$name for ${FUZZ_SECONDS}s (seeds Fuzz/corpus/$name, log $log)"
    # The first folder receives new inputs; the seed folder is only read.
    # shellcheck disable=SC2086
    "$BIN/fuzz-$name" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -dict="Fuzz/dict/$name.dict" -artifact_prefix="$artifacts/" \
        ${FUZZ_ARGS:-} "$corpus" "Fuzz/corpus/$name" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    line="fuzz-$name: ${runs:-?} runs, ${speed:-?} exec/s, ${cov:-cov: ?}, corpus $(find "$corpus" -type f | wc -l) files"
    if [ $rc -ne 0 ]; then
        status=1
        line="$line: FAILED (exit $rc)"
        echo "---- fuzz-$name found a problem; from $log:" >&2
        sed -n '/^==[0-9]*==ERROR\|Fatal error\|deadly signal\|ERROR: libFuzzer/,$p' "$log" | head -40 >&2
        echo "---- crashing inputs in $artifacts:" >&2
        ls -l "$artifacts" >&2
    fi
    summary+=("$line")
done

printf '%s\n' "${summary[@]}"
exit $status

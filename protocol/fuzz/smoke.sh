#!/usr/bin/env bash
# Smoke run of every fuzz target of tickwire-protocol: builds all targets once, then runs each
# for a few seconds over a temporary copy of its seed corpus (nothing under protocol/fuzz/corpus
# is written). Exits non-zero if a target crashes, hangs, or cannot be built.
#
# Usage: protocol/fuzz/smoke.sh [SECONDS]      seconds per target, default 10 (or $FUZZ_SECONDS)
# Env:   FUZZ_SANITIZER=address|none|...       sanitizer passed to cargo fuzz (default address)
#
# Exit status: 0 clean, 1 a target crashed or hung or the build failed, 2 cargo-fuzz missing and
# not installable. On the 2-core development machine a cold build takes 2 to 2.5 minutes
# (libFuzzer's C++ included), a rebuild after a protocol change 10 to 30 s, then about
# SECONDS + 2 s per target (6 targets): 90 s in all with the default 10 s and a 20 s rebuild.
set -euo pipefail

secs="${1:-${FUZZ_SECONDS:-10}}"
sanitizer="${FUZZ_SANITIZER:-address}"
if ! [[ "$secs" =~ ^[0-9]+$ ]] || [ "$secs" -lt 1 ]; then
    echo "smoke.sh: seconds must be a positive integer, got '$secs'" >&2
    exit 2
fi

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
protocol_dir="$(dirname "$fuzz_dir")"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "smoke.sh: cargo-fuzz is not installed; running: cargo install cargo-fuzz --locked" >&2
    if ! cargo install cargo-fuzz --locked; then
        cat >&2 <<'MSG'
smoke.sh: could not install cargo-fuzz (offline?). To run the fuzz smoke test, install:
  - cargo-fuzz:      cargo install cargo-fuzz --locked
  - a C++ compiler:  libFuzzer is compiled from source by libfuzzer-sys (g++ or clang++)
then run protocol/fuzz/smoke.sh again.
MSG
        exit 2
    fi
fi

# cargo-fuzz passes nightly-only flags (-Zsanitizer, ...); RUSTC_BOOTSTRAP lets a stable
# toolchain accept them. Binaries must land in fuzz/target where cargo-fuzz looks for them.
export RUSTC_BOOTSTRAP=1
unset CARGO_TARGET_DIR

cd "$protocol_dir"
targets="$(cargo fuzz list)"
if [ -z "$targets" ]; then
    echo "smoke.sh: cargo fuzz list found no targets" >&2
    exit 2
fi

start=$(date +%s)
echo "smoke.sh: building fuzz targets ($sanitizer sanitizer)"
if ! cargo fuzz build --sanitizer "$sanitizer" >"${TMPDIR:-/tmp}/tickwire-fuzz-build.log" 2>&1; then
    tail -n 40 "${TMPDIR:-/tmp}/tickwire-fuzz-build.log" >&2
    echo "smoke.sh: build failed" >&2
    exit 1
fi
echo "smoke.sh: built in $(($(date +%s) - start))s"

work="$(mktemp -d "${TMPDIR:-/tmp}/tickwire-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT

guard=()
if command -v timeout >/dev/null 2>&1; then
    guard=(timeout --kill-after=30 $((secs * 2 + 300)))
fi

failed=()
for t in $targets; do
    mkdir -p "$work/$t/new"
    cp -R "fuzz/corpus/$t" "$work/$t/seeds" 2>/dev/null || mkdir -p "$work/$t/seeds"
    log="$work/$t.log"
    # New inputs go to the first directory (temporary); crashes to fuzz/artifacts/$t/ (ignored
    # by git). -timeout turns a hang into a failure.
    if "${guard[@]}" cargo fuzz run --sanitizer "$sanitizer" "$t" "$work/$t/new" "$work/$t/seeds" -- \
        -max_total_time="$secs" -timeout=10 -dict=fuzz/tickwire.dict -print_final_stats=1 \
        >"$log" 2>&1; then
        runs="$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo '?')"
        echo "ok    $t: $runs executions in ${secs}s"
    else
        echo "FAIL  $t" >&2
        grep -E 'panicked at|ERROR: libFuzzer|SUMMARY|Test unit written to|deadly signal|timeout' "$log" >&2 || true
        tail -n 30 "$log" >&2
        failed+=("$t")
    fi
done

echo "smoke.sh: done in $(($(date +%s) - start))s"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "smoke.sh: crashed: ${failed[*]} (reproduce: cd protocol && RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/<file>)" >&2
    exit 1
fi

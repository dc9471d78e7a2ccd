#!/usr/bin/env bash
# Runs every cargo-fuzz target (or the ones named) for a bounded time each and prints, per
# target, the executions, the new crash files and the time taken. Needs the nightly toolchain;
# installs cargo-fuzz when it is missing.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s, every target)
#
# Each corpus (fuzz/corpus/<target>, not committed) is seeded with the committed inputs of
# fuzz/regressions/<target>. A crash stops that target early; its input is left in
# fuzz/artifacts/<target>/. Minimize it with `cargo +nightly fuzz tmin <target> <file>` and
# commit the result under fuzz/regressions/<target>/ (plain `cargo test` replays it).
# Exit status: 0 when no target crashed, 1 otherwise.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"
seconds="${1:-60}"
shift || true
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
# Build everything first so the time budget is spent fuzzing, not compiling.
for t in "${targets[@]}"; do cargo +nightly fuzz build -s none "$t"; done

summary=()
any_crash=0
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    if [ -d "regressions/$target" ]; then
        find "regressions/$target" -maxdepth 1 -type f ! -name '*.md' \
            -exec cp -n {} "corpus/$target/" \; 2>/dev/null || true
    fi
    before=$(find "artifacts/$target" -type f | wc -l)
    log="$(mktemp)"
    status=0
    started=$(date +%s)
    # Structured targets decode bytes into operation lists: let inputs be long from the start
    # instead of growing slowly from 4 bytes (their executions are slow).
    extra=()
    case "$target" in
        engine_invariants | simulator_ops) extra=(-len_control=0 -max_len=1024) ;;
    esac
    cargo +nightly fuzz run -s none "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=8192 -timeout=30 -print_final_stats=1 "${extra[@]}" \
        >"$log" 2>&1 || status=$?
    took=$(($(date +%s) - started))
    execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1 || true)
    execs="${execs:-?}"
    after=$(find "artifacts/$target" -type f | wc -l)
    crashes=$((after - before))
    corpus=$(find "corpus/$target" -type f | wc -l)
    if [ "$status" -ne 0 ] || [ "$crashes" -gt 0 ]; then
        any_crash=1
        echo "== $target failed (exit $status); the end of its log:" >&2
        tail -40 "$log" >&2
    fi
    line="$target: executions=$execs crashes=$crashes seconds=$took corpus=$corpus exit=$status"
    echo "$line"
    summary+=("$line")
    rm -f "$log"
done
echo "---"
printf '%s\n' "${summary[@]}"
exit "$any_crash"

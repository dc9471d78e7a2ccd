#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (default 60 s each) and prints executions and
# crashes per target. Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
for target in $(cargo +nightly fuzz list); do
    mkdir -p "corpus/$target"
    # Seed each corpus with the committed regression inputs of that target.
    if [ -d "regressions/$target" ]; then
        cp -n regressions/"$target"/* "corpus/$target/" 2>/dev/null || true
    fi
    log="$(mktemp)"
    status=0
    cargo +nightly fuzz run -s none "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=8192 -print_final_stats=1 >"$log" 2>&1 || status=$?
    execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
    crashes=$(ls artifacts/"$target" 2>/dev/null | wc -l)
    echo "$target: executions=$execs crashes=$crashes exit=$status"
    rm -f "$log"
done

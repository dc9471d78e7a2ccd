#!/usr/bin/env bash
# Renders a simulation report in headless Chromium and saves a screenshot, to check by eye that
# report.html displays (plots, legends, markers) in a real browser. Needs Debian's `chromium`
# package (`apt-get install chromium`); the report page itself needs no network and no scripts.
#
# Usage: scripts/screenshot-report.sh REPORT_DIR [WIDTH HEIGHT]
#   e.g. cargo run -p vpsie-sim -- run --out out && scripts/screenshot-report.sh out
# Writes REPORT_DIR/report.png.
set -euo pipefail
dir="${1:?usage: scripts/screenshot-report.sh REPORT_DIR [WIDTH HEIGHT]}"
width="${2:-1280}"
height="${3:-2400}"
[ -f "$dir/report.html" ] || { echo "no report.html in $dir" >&2; exit 2; }
command -v chromium >/dev/null 2>&1 || { echo "chromium not found: apt-get install chromium" >&2; exit 2; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
page="$(cd "$dir" && pwd)/report.html"
# The flags keep Chromium from reaching out to the network at start-up (closed networks refuse
# those connections noisily) and let it run as root in a container.
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --window-size="$width,$height" \
    --screenshot="$dir/report.png" "file://$page" 2>/dev/null
echo "wrote $dir/report.png"

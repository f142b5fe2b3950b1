#!/usr/bin/env bash
# Smoke-test the frozen bundle (not in CI: a build takes minutes). Builds it first unless it exists
# (REBUILD=1 forces a build). Runs from an empty folder with no BAGSCAN_ASSETS / PYTHONPATH, so only
# what is inside the bundle is used: --version start-up time, a headless scan with the bundled default
# model, then the window for a few seconds offscreen.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUNDLE="$HERE/dist/bagscan"
if [[ "${REBUILD:-0}" == 1 || ! -x "$BUNDLE/bagscan" ]]; then
  "$HERE/build.sh" "${BUILD_MODE:-overlay}"
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
unset BAGSCAN_ASSETS PYTHONPATH PYTHONHOME
export QT_QPA_PLATFORM=offscreen
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "== bundle $(du -sh "$BUNDLE" | cut -f1) at $BUNDLE"

for run in cold warm; do
  t0=$(now); version=$("$BUNDLE/bagscan" --version); t1=$(now)
  echo "== $version: --version took $(secs "$t0" "$t1") s ($run)"
done

DEMO="$(find "$BUNDLE" -type d -path '*/assets/demo' | head -1)"
[[ -n "$DEMO" ]] || { echo "FAIL: no assets/demo in the bundle" >&2; exit 1; }
SCANS="$(find "$DEMO" -type f \( -iname '*.jpg' -o -iname '*.png' \) | sort)"
SCAN="$(grep -m1 'P[0-9]' <<<"$SCANS" || head -1 <<<"$SCANS")"  # a threat scan when the names say so
[[ -n "$SCAN" ]] || { echo "FAIL: no demo scan in $DEMO" >&2; exit 1; }

t0=$(now); "$BUNDLE/bagscan" scan "$SCAN" --device cpu --json one.json; t1=$(now)
echo "== one scan (default model, process start included) took $(secs "$t0" "$t1") s"

t0=$(now); "$BUNDLE/bagscan" scan "$DEMO" --device cpu --json demo.json >demo.txt; t1=$(now)
echo "== demo folder: $(grep -c ' score ' demo.txt) scans scored, $(grep -c ERROR demo.txt || true) errors, $(secs "$t0" "$t1") s"

"$BUNDLE/bagscan" info "$DEMO" | head -5

# The window: alive after 20 s offscreen on the demo folder means it started without crashing.
set +e
timeout 20 "$BUNDLE/bagscan-gui" "$DEMO" >gui.log 2>&1
rc=$?
set -e
if [[ $rc -eq 124 ]]; then
  echo "== bagscan-gui: still running after 20 s (ok)"
else
  echo "FAIL: bagscan-gui exited with $rc:" >&2; tail -20 gui.log >&2; exit 1
fi
echo "== smoke test passed"

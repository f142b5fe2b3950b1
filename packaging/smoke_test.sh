#!/usr/bin/env bash
# Smoke-test the frozen bundle, as CI does (.ci/run). Builds it first unless it exists (REBUILD=1
# forces a build). Runs from an empty folder with a clean environment (no PYTHONPATH, no
# BAGSCAN_ASSETS, no DISPLAY), so only what is inside the bundle is used: --version, a headless scan
# of a demo scan with the bundled default model, then `bagscan-gui` offscreen for 10 s on the demo.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUNDLE="$HERE/dist/bagscan"
if [[ "${REBUILD:-0}" == 1 || ! -x "$BUNDLE/bagscan" ]]; then
  "$HERE/build.sh" "${BUILD_MODE:-overlay}"
fi
GUI_SECONDS="${GUI_SECONDS:-10}"
MAX_MB="${MAX_MB:-800}"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
clean() { env -i PATH=/usr/bin:/bin HOME="$WORK" LANG=C.UTF-8 "$@"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

size=$(du -sm "$BUNDLE" | cut -f1)
echo "== bundle ${size} MB at $BUNDLE (target <= ${MAX_MB} MB)"
[[ "$size" -le "$MAX_MB" ]] || echo "warning: the bundle is over ${MAX_MB} MB (a CUDA torch? see packaging/NOTES.md)" >&2
[[ -L "$BUNDLE/bagscan-gui" || -x "$BUNDLE/bagscan-gui" ]] || { echo "FAIL: no bagscan-gui" >&2; exit 1; }

t0=$(now); version=$(clean "$BUNDLE/bagscan" --version); t1=$(now)
echo "== $version: --version took $(secs "$t0" "$t1") s"

DEMO="$(find "$BUNDLE" -type d -path '*/assets/demo' | head -1)"
[[ -n "$DEMO" ]] || { echo "FAIL: no assets/demo in the bundle" >&2; exit 1; }
SCAN="$(find "$DEMO" -type f -iname '*P0*.jpg' | sort | head -1)"  # a threat scan
[[ -n "$SCAN" ]] || { echo "FAIL: no demo scan in $DEMO" >&2; exit 1; }

t0=$(now); clean "$BUNDLE/bagscan" scan "$SCAN" --device cpu --json one.json | tee scan.txt; t1=$(now)
grep -q " score " scan.txt && [[ -s one.json ]] || { echo "FAIL: the scan printed no score" >&2; exit 1; }
echo "== one scan (default model, process start included) took $(secs "$t0" "$t1") s"

# The window: alive after GUI_SECONDS offscreen on the demo means it started without crashing.
set +e
clean QT_QPA_PLATFORM=offscreen timeout "$GUI_SECONDS" "$BUNDLE/bagscan-gui" >gui.log 2>&1
rc=$?
set -e
if [[ $rc -eq 124 ]]; then
  echo "== bagscan-gui: still running after $GUI_SECONDS s (ok)"
else
  echo "FAIL: bagscan-gui exited with $rc:" >&2; tail -20 gui.log >&2; exit 1
fi
if grep -E "Traceback|Error" gui.log >&2; then echo "FAIL: bagscan-gui logged an error" >&2; exit 1; fi
echo "== smoke test passed"

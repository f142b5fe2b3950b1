#!/usr/bin/env bash
# Build the one-folder bundle packaging/dist/bagscan (executables bagscan and bagscan-gui).
#
#   packaging/build.sh            # venv packaging/build/venv on top of the current env (reuses its torch)
#   packaging/build.sh --fresh    # clean venv: CPU torch wheel + bagscan from scratch (slow, downloads ~200 MB)
#   packaging/build.sh --current  # build with the current interpreter, installing pyinstaller into it
#
# PYTHON picks the interpreter (default python3). Output: packaging/dist/bagscan, work files packaging/build/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
PYTHON="${PYTHON:-python3}"
MODE="${1:-overlay}"
VENV="$HERE/build/venv"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
TORCH_INDEX="${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"

case "$MODE" in
  --current)
    PY="$PYTHON" ;;
  --fresh)
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    PY="$VENV/bin/python"
    "$PY" -m pip install -q --upgrade pip
    # CPU-only torch: the default Linux wheel drags in gigabytes of CUDA libraries.
    "$PY" -m pip install -q "torch==$TORCH_VERSION" --index-url "$TORCH_INDEX"
    "$PY" -m pip install -q "$ROOT" ;;
  overlay|--overlay)
    [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv --system-site-packages "$VENV"
    PY="$VENV/bin/python" ;;
  *)
    echo "usage: $0 [--overlay|--fresh|--current]" >&2; exit 2 ;;
esac

"$PY" -m pip install -q "pyinstaller>=6.10"
(cd "$ROOT" && "$PY" -c 'import torch, PySide6, engine
print("bagscan", engine.__version__, "| torch", torch.__version__, "cuda", torch.version.cuda, "| PySide6", PySide6.__version__)')

start=$(date +%s)
(cd "$ROOT" && nice -n 10 "$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$HERE/dist" --workpath "$HERE/build/pyinstaller" "$HERE/bagscan.spec")
echo "built in $(( $(date +%s) - start )) s"

BUNDLE="$HERE/dist/bagscan"
echo "bundle: $BUNDLE"
du -sh "$BUNDLE"
echo "largest parts:"
du -s "$BUNDLE"/_internal/* 2>/dev/null | sort -rn | head -8 | awk '{printf "  %7.1f MB  %s\n", $1/1024, $2}' || true  # head closes the pipe early (SIGPIPE) under pipefail

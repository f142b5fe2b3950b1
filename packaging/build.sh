#!/usr/bin/env bash
# Build the one-folder bundle packaging/dist/bagscan (executables bagscan and bagscan-gui).
#
#   packaging/build.sh            # the current interpreter (a venv or not) and its torch; PyInstaller goes
#                                 # into packaging/build/pyinstaller-lib, not into that environment
#   packaging/build.sh --fresh    # clean venv: CPU torch wheel + bagscan from scratch (slow, downloads ~200 MB)
#   packaging/build.sh --current  # build with the current interpreter, installing pyinstaller into it
#
# PYTHON picks the interpreter (default python3). Output: packaging/dist/bagscan, work files packaging/build/.
# (The overlay used to be `python -m venv --system-site-packages`, which builds on the *base* interpreter:
# run from a virtualenv, it lost the venv's torch. Putting PyInstaller on PYTHONPATH keeps the interpreter.)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
PYTHON="${PYTHON:-python3}"
MODE="${1:-overlay}"
VENV="$HERE/build/venv"
PYI_LIB="$HERE/build/pyinstaller-lib"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
TORCH_INDEX="${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"

case "$MODE" in
  --current)
    PY="$PYTHON"
    "$PY" -m pip install -q "pyinstaller>=6.10" ;;
  --fresh)
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    PY="$VENV/bin/python"
    "$PY" -m pip install -q --upgrade pip
    # CPU-only torch: the default Linux wheel drags in gigabytes of CUDA libraries.
    "$PY" -m pip install -q "torch==$TORCH_VERSION" --index-url "$TORCH_INDEX"
    "$PY" -m pip install -q "$ROOT" "pyinstaller>=6.10" ;;
  overlay|--overlay)
    PY="$PYTHON"
    "$PY" -c 'import PyInstaller' 2>/dev/null \
      || PYTHONPATH="$PYI_LIB" "$PY" -c 'import PyInstaller' 2>/dev/null \
      || "$PY" -m pip install -q --target "$PYI_LIB" "pyinstaller>=6.10"
    export PYTHONPATH="$PYI_LIB${PYTHONPATH:+:$PYTHONPATH}" ;;
  *)
    echo "usage: $0 [--overlay|--fresh|--current]" >&2; exit 2 ;;
esac

(cd "$ROOT" && "$PY" -c 'import torch, PySide6, engine
print("bagscan", engine.__version__, "| torch", torch.__version__, "cuda", torch.version.cuda, "| PySide6", PySide6.__version__)')

start=$(date +%s)
(cd "$ROOT" && nice -n 10 "$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$HERE/dist" --workpath "$HERE/build/pyinstaller" "$HERE/bagscan.spec")
echo "built in $(( $(date +%s) - start )) s"
[[ -e "$HERE/dist/bagscan/bagscan-gui" ]] || [[ -e "$HERE/dist/bagscan/bagscan-gui.exe" ]] \
  || { echo "error: no bagscan-gui in the bundle" >&2; exit 1; }

BUNDLE="$HERE/dist/bagscan"
echo "bundle: $BUNDLE"
du -sm "$BUNDLE" | awk '{printf "bundle size: %d MB\n", $1}'
echo "largest parts:"
du -s "$BUNDLE"/_internal/* 2>/dev/null | sort -rn | head -8 | awk '{printf "  %7.1f MB  %s\n", $1/1024, $2}' || true  # head closes the pipe early (SIGPIPE) under pipefail

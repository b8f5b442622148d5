#!/usr/bin/env bash
# Install ragkit from this offline bundle, with no network at all.
#
#   ./install.sh TARGET_DIR        → TARGET_DIR/.venv/bin/ragkit
#
# 1. checks every file of the bundle against MANIFEST.sha256;
# 2. creates TARGET_DIR/.venv with this machine's Python (it must be the bundle's version);
# 3. installs torch (CPU), then ragkit and all its dependencies from wheelhouse/ only
#    (--no-index, every pip config file and PIP_* variable ignored);
# 4. runs `ragkit doctor`, which checks the models and prints what to fix, if anything.
# Set PYTHON=/path/to/python3.X to choose the interpreter.
set -euo pipefail

die() { echo "install.sh: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $0 TARGET_DIR"
HERE=$(cd "$(dirname "$0")" && pwd)
TARGET=$1
# shellcheck source=/dev/null
. "$HERE/bundle.env"

echo "== 1/4 verifying the bundle (MANIFEST.sha256)"
(cd "$HERE" && sha256sum --quiet --strict -c MANIFEST.sha256) \
    || die "some files of the bundle are damaged or missing (listed above); copy the .tar again and re-check it"

echo "== 2/4 creating $TARGET/.venv"
PY=${PYTHON:-}
if [ -z "$PY" ]; then
    for candidate in "python$PYTHON_VERSION" python3; do
        if command -v "$candidate" >/dev/null 2>&1; then PY=$(command -v "$candidate"); break; fi
    done
fi
[ -n "$PY" ] || die "no python3 found; install Python $PYTHON_VERSION (with venv) or set PYTHON=/path/to/python$PYTHON_VERSION"
have=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
[ "$have" = "$PYTHON_VERSION" ] \
    || die "$PY is Python $have but this bundle holds wheels for Python $PYTHON_VERSION; set PYTHON=/path/to/python$PYTHON_VERSION"
mkdir -p "$TARGET"
TARGET=$(cd "$TARGET" && pwd)
"$PY" -m venv "$TARGET/.venv" \
    || die "cannot create a venv with $PY; install its venv module (Debian/Ubuntu: apt install python$PYTHON_VERSION-venv)"

echo "== 3/4 installing from $HERE/wheelhouse (no index, no network)"
# Only the wheelhouse: forget every pip setting of this machine (config files, PIP_* variables).
while IFS='=' read -r name _; do unset "$name"; done < <(env | grep -E '^PIP_[A-Z_]+=' || true)
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
pip_install() {
    "$TARGET/.venv/bin/python" -m pip install --no-index --find-links "$HERE/wheelhouse" --no-cache-dir "$@"
}
pip_install "$TORCH_SPEC" || die "torch failed to install from the wheelhouse"
pip_install "ragkit==$RAGKIT_VERSION" || die "ragkit failed to install from the wheelhouse"
[ -x "$TARGET/.venv/bin/ragkit" ] || die "$TARGET/.venv/bin/ragkit is missing after the install"

echo "== 4/4 ragkit doctor"
if "$TARGET/.venv/bin/ragkit" doctor; then
    echo "ragkit is installed: $TARGET/.venv/bin/ragkit  (try: $TARGET/.venv/bin/ragkit ingest $HERE/corpora)"
else
    die "installed, but ragkit doctor found problems (see above, each with what to do)"
fi

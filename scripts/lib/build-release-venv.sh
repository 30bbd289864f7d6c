#!/bin/sh
# Builds the venv of one Home Assistant release (scripts/setup runs it; in rootfs mode inside the sandbox).
#
#   build-release-venv.sh PYTHON VENV RELEASE_FILE WHEEL_DIR PROJECT_DIR
#
# Installs RELEASE_FILE (scripts/releases/<series>.txt) under that Home Assistant release's own
# package_constraints.txt, read from its wheel, then checks every pin against the release (scripts/lib/release_check.py).
# Wheels come from WHEEL_DIR when it has them all, otherwise from PyPI into WHEEL_DIR.
set -eu
python=$1 venv=$2 release=$3 wheels=$4 project=$5

version=$(sed -n 's/^homeassistant==\([0-9][0-9.]*\).*/\1/p' "$release")
[ -n "$version" ] || { echo "$release pins no homeassistant==VERSION" >&2; exit 1; }

"$python" -m venv "$venv"
pip="$venv/bin/python -m pip"
ha_wheel=$wheels/homeassistant-$version-py3-none-any.whl
[ -f "$ha_wheel" ] || $pip download -q --no-deps -d "$wheels" "homeassistant==$version"
constraints=$venv/package_constraints.txt
"$venv/bin/python" -c 'import sys, zipfile
sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read("homeassistant/package_constraints.txt").decode())' "$ha_wheel" \
    >"$constraints"

install="$pip install -q --no-index --find-links $wheels -r $release -c $constraints"
# shellcheck disable=SC2086
$install 2>/dev/null || { $pip wheel -q -w "$wheels" -r "$release" -c "$constraints" && $install; }
"$venv/bin/python" "$project/scripts/lib/release_check.py" "$release" "$project/custom_components/stream/manifest.json"

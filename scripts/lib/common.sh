# Shared paths and helpers for scripts/*. Sourced, not run.
# The environment lives outside the checkout (a fresh clone reuses it), keyed by hashes of what went into it.

PROJECT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE_DIR=${STREAM_DEV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ha-stream-dev}
HOST_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
MIN_PYTHON=3.14.2

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

log() {
    printf '==> %s\n' "$*" >&2
}

hash_files() {
    cat "$@" | sha256sum | cut -c1-16
}

# A host Python >= 3.14.2, if the machine has one (then no rootfs is needed).
host_python() {
    local candidate
    for candidate in python3.14 python3.15 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; raise SystemExit(sys.version_info < (3, 14, 2))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

ROOTFS_HASH=$(hash_files "$PROJECT_DIR/scripts/rootfs-packages.txt")
VENV_HASH=$(hash_files "$PROJECT_DIR/requirements.txt" "$PROJECT_DIR/requirements_test.txt" \
    <(printf '%s' "$ROOTFS_HASH"))
NPM_HASH=$(hash_files "$PROJECT_DIR/scripts/npm-packages.txt")
ROOTFS_DIR=$CACHE_DIR/rootfs-$ROOTFS_HASH
VENV_DIR=$CACHE_DIR/venv-$VENV_HASH
WHEEL_DIR=$CACHE_DIR/wheels
DEB_CACHE_DIR=$CACHE_DIR/debs
VENDOR_DIR=$PROJECT_DIR/tests/assets/vendor

# Home Assistant releases tested end to end besides the pinned suite (tests/test_releases.py): one venv per
# scripts/releases/<series>.txt, keyed by a hash of that file and of the script that builds it.
RELEASES_DIR=$PROJECT_DIR/scripts/releases

release_series() {
    local file
    for file in "$RELEASES_DIR"/*.txt; do
        [ -e "$file" ] && basename "$file" .txt
    done
    return 0
}

release_venv_dir() {
    printf '%s/release-%s-%s\n' "$CACHE_DIR" "$1" "$(hash_files "$RELEASES_DIR/$1.txt" \
        "$PROJECT_DIR/scripts/lib/build-release-venv.sh" <(printf '%s' "$ROOTFS_HASH"))"
}

if HOST_PYTHON=$(host_python); then
    ENV_MODE=host
    VENV_DIR=$PROJECT_DIR/.venv
else
    ENV_MODE=rootfs
    HOST_PYTHON=
fi

# Where commands in the sandbox find the venv of release $1.
release_venv_path() {
    if [ "$ENV_MODE" = host ]; then
        release_venv_dir "$1"
    else
        printf '/opt/releases/%s\n' "$1"
    fi
}

env_ready() {
    local series
    [ -f "$VENV_DIR/.complete" ] || return 1
    [ -f "$VENDOR_DIR/.complete-$NPM_HASH" ] || return 1
    for series in $(release_series); do
        [ -f "$(release_venv_dir "$series")/.complete" ] || return 1
    done
    if [ "$ENV_MODE" = rootfs ]; then
        [ -f "$ROOTFS_DIR/.complete" ] || return 1
    fi
    return 0
}

ensure_env() {
    env_ready || "$PROJECT_DIR/scripts/setup"
}

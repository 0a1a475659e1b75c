#!/usr/bin/env bash
# Installs what building and testing rockslot needs on Debian (and Ubuntu); safe to run again.
#
# - a C/C++ toolchain and libclang: the bundled RocksDB is compiled by librocksdb-sys;
# - redis-server and redis-tools 7.0: the reference the integration tests compare against, and
#   redis-benchmark for `make bench`;
# The Rust toolchain itself (cargo, rustc, rustfmt, clippy) is expected to be installed already;
# the script says so clearly when it is not.
#
# Runs apt-get only for missing packages, as root or through sudo.
set -euo pipefail

packages=(build-essential clang libclang-dev redis-server redis-tools)
if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
    echo "install-deps: cargo not found: install a Rust toolchain (rustup, stable) first" >&2
    exit 1
fi

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        sudo=()
    elif command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
        exit 1
    fi
    echo "install-deps: installing ${missing[*]}"
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
    # Installing redis-server starts Debian's system instance on port 6379. The tests do not
    # need it (they start their own servers), and it would push `make run` off 6379, so a
    # service this script installed is stopped again; a pre-existing one is left alone.
    if [[ " ${missing[*]} " == *" redis-server "* ]] && command -v systemctl >/dev/null 2>&1 \
        && [ -d /run/systemd/system ]; then
        "${sudo[@]}" systemctl disable --now redis-server || true
    fi
fi


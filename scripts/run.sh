#!/usr/bin/env bash
# Runs rockslot in the foreground on its built-in defaults, data under ./data, on port 6379 or,
# if that is taken, the next free port. It listens on loopback only, like Debian's packaged
# redis.conf; extra arguments are passed on as directives and override that, e.g.
# `scripts/run.sh --bind 0.0.0.0 --appendfsync always`.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${CARGO_TARGET_DIR:-$HOME/.cache/rockslot/target}/release/rockslot"
if [ ! -x "$bin" ]; then
    echo "run: $bin not found; build it with 'make build'" >&2
    exit 1
fi

# A port is busy if something accepts connections on it.
port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

port=${PORT:-6379}
while port_busy "$port"; do
    port=$((port + 1))
done

mkdir -p data
echo "rockslot: 127.0.0.1:$port, data in $PWD/data (connect with: redis-cli -p $port)"
exec "$bin" --port "$port" --bind 127.0.0.1 --dir "$PWD/data" "$@"

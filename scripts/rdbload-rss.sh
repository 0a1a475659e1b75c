#!/usr/bin/env bash
# Peak memory and time of a big startup load. Real Redis writes a dump.rdb of about RDB_GB
# gigabytes (uncompressed strings of VALUE_BYTES bytes from DEBUG POPULATE, plus small hashes,
# sets and sorted sets from redis-benchmark), then rockslot starts on it; the script prints the
# file's size, the load time (process start to first PONG), rockslot's peak RSS (VmHWM of
# /proc/PID/status) and whether every key arrived. A load must stay well under the file's size
# in memory: the architecture's bounded-memory rule.
#
# Knobs (environment):
#   RDB_GB         file size to aim at, in GB (default 2)
#   VALUE_BYTES    string value size (default 200)
#   ROCKSLOT_BIN   binary to measure (default: the release build)
#   REDIS_SERVER   server writing the file (default: redis-server on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir=${CARGO_TARGET_DIR:-$HOME/.cache/rockslot/target}
rockslot_bin=${ROCKSLOT_BIN:-$target_dir/release/rockslot}
redis_bin=${REDIS_SERVER:-redis-server}
rdb_gb=${RDB_GB:-2}
value_bytes=${VALUE_BYTES:-200}
# Bytes a string key takes in an uncompressed file besides its value (type, lengths, name).
key_overhead=16
# Hashes, sets and sorted sets: keys of each kind (about), as the bench's rdbload section.
collections=100000

for tool in "$rockslot_bin" "$redis_bin" redis-benchmark redis-cli; do
    command -v "$tool" >/dev/null 2>&1 || { echo "rdbload-rss: $tool not found" >&2; exit 1; }
done

work=$(mktemp -d -t rockslot-rdbload.XXXXXX)
pid=""
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# A free loopback port below the kernel's ephemeral range.
free_port() {
    local port
    while :; do
        port=$((10000 + RANDOM % 22000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
    done
}

# wait_pong PORT PID: waits until the server answers PING (LOADING errors do not count).
wait_pong() {
    while [ "$(redis-cli -p "$1" ping 2>/dev/null)" != PONG ]; do
        kill -0 "$2" 2>/dev/null || { echo "rdbload-rss: the server exited" >&2; exit 1; }
        sleep 0.1
    done
}

keys=$(awk -v g="$rdb_gb" -v v="$value_bytes" -v o="$key_overhead" \
    'BEGIN { printf "%d", g * 1e9 / (v + o) }')
echo "rdbload-rss: real Redis writes about $keys strings of $value_bytes bytes" >&2
mkdir -p "$work/gen" "$work/load"
port=$(free_port)
"$redis_bin" --port "$port" --bind 127.0.0.1 --dir "$work/gen" --save "" --appendonly no \
    --rdbcompression no --enable-debug-command yes >"$work/gen.log" 2>&1 &
pid=$!
wait_pong "$port" "$pid"
redis-cli -p "$port" debug populate "$keys" key "$value_bytes" >/dev/null
for command in "HSET h:__rand_int__ f __rand_int__" "SADD s:__rand_int__ __rand_int__" \
    "ZADD z:__rand_int__ __rand_int__ m"; do
    # shellcheck disable=SC2086 # the command is a list of words
    redis-benchmark -p "$port" -r "$collections" -n $((collections * 2)) -P 16 -q $command \
        >/dev/null
done
redis-cli -p "$port" save >/dev/null
expected=$(redis-cli -p "$port" dbsize)
redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
wait "$pid" 2>/dev/null || true
pid=""
mv "$work/gen/dump.rdb" "$work/load/dump.rdb"
size=$(stat -c %s "$work/load/dump.rdb")

echo "rdbload-rss: rockslot loads it" >&2
port=$(free_port)
began=$(date +%s.%N)
"$rockslot_bin" --port "$port" --bind 127.0.0.1 --dir "$work/load" --save "" \
    >"$work/load.log" 2>&1 &
pid=$!
wait_pong "$port" "$pid"
ended=$(date +%s.%N)
peak_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
loaded=$(redis-cli -p "$port" dbsize)
awk -v s="$size" -v a="$began" -v b="$ended" -v p="$peak_kb" -v k="$loaded" -v e="$expected" \
    'BEGIN {
        printf "file %.2f GB, %d keys\n", s / 1e9, e
        printf "load %.1f s (%.0f keys/s)\n", b - a, k / (b - a)
        printf "peak RSS %.0f MB (VmHWM)\n", p / 1024
        printf "keys loaded %d of %d\n", k, e
    }'
[ "$loaded" = "$expected" ] || { echo "rdbload-rss: keys missing" >&2; exit 1; }

#!/usr/bin/env bash
# Throughput of rockslot next to real Redis, measured by redis-benchmark in one run on the same
# machine, so the ratio means something even where the absolute figures do not travel.
#
# Redis runs as a durable deployment would run it (AOF, fsync every second, no RDB snapshots);
# rockslot runs on its defaults. Each gets a fresh temporary directory and a free loopback port.
# The table goes to stdout and, if BENCH_OUT names a file, to that file as well.
#
# Knobs (environment):
#   ROCKSLOT_BIN   binary to measure (default: the release build); pointing it at redis-server
#                  benchmarks Redis against itself, which checks this script and shows the noise
#   REDIS_SERVER   reference server (default: redis-server on PATH)
#   BENCH_SCALE    multiplies every request count (default 1; 0.1 for a quick look)
#   BENCH_EXTRA    extra redis-benchmark arguments, e.g. "-r 1000000" to spread keys
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir=${CARGO_TARGET_DIR:-$HOME/.cache/rockslot/target}
rockslot_bin=${ROCKSLOT_BIN:-$target_dir/release/rockslot}
txbench_bin=$target_dir/release/examples/txbench
streambench_bin=$target_dir/release/examples/streambench
redis_bin=${REDIS_SERVER:-redis-server}
scale=${BENCH_SCALE:-1}
clients=50
value_bytes=100

# One run per line: redis-benchmark tests (-t), pipeline depth (-P), requests per test (-n).
# Request counts are sized so the whole script takes a minute or two on two cores; add lines
# here for more commands (lpush,lpop,hset,...) as rockslot grows.
runs=(
    "set,get 1 300000"
    "set,get 16 3000000"
    "lpush,lpop,sadd,hset,zadd 1 200000"
)
# Workloads redis-benchmark has no -t test for, as "NAME PIPELINE REQUESTS COMMAND...": they run
# after the runs above, so `zadd` has filled `myzset`.
customs=(
    "zrange 1 200000 ZRANGE myzset 0 9 WITHSCORES"
    "xadd 1 200000 XADD mystream * field value"
)
# MULTI/EXEC (MULTI, SET, INCR, LPUSH, EXEC per transaction) by examples/txbench.rs.
transactions=100000
# Entries read and acknowledged one at a time by consumers of one group (XREADGROUP > COUNT 1,
# then XACK), over a stream examples/streambench.rs fills first.
stream_entries=100000
# SETs per fsync policy with the AOF on in both servers.
aof_sets=100000
# Keys of the dump.rdb both servers load at startup.
rdb_keys=1000000

for tool in "$rockslot_bin" "$txbench_bin" "$streambench_bin" "$redis_bin" redis-benchmark redis-cli; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool not found (make build / make deps)" >&2; exit 1; }
done

work=$(mktemp -d -t rockslot-bench.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Below the kernel's ephemeral range (32768 and up), where outgoing connections take ports that
# a probe cannot see but a bind fails on.
free_port() {
    local port
    while :; do
        port=$((10000 + RANDOM % 22000))
        port_busy "$port" || { echo "$port"; return; }
    done
}

# start NAME BINARY ARGS... : starts a server, waits for PING, sets $port. Not run in a
# subshell, so that $pids reaches the cleanup trap. A port taken in the meantime is retried.
start() {
    local name=$1 bin=$2 pid attempt
    shift 2
    mkdir -p "$work/$name"
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        "$bin" --port "$port" --bind 127.0.0.1 --dir "$work/$name" "$@" >"$work/$name.log" 2>&1 &
        pid=$!
        pids+=("$pid")
        for _ in $(seq 600); do
            if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
                return
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        grep -q "Address already in use" "$work/$name.log" || break
        echo "bench: $name: port $port taken (attempt $attempt), retrying" >&2
    done
    echo "bench: $name did not answer PING; its log:" >&2
    cat "$work/$name.log" >&2
    exit 1
}

# measure PORT TESTS PIPELINE REQUESTS : prints "TEST ops/s" lines.
measure() {
    # shellcheck disable=SC2086 # BENCH_EXTRA is a list of arguments
    redis-benchmark -p "$1" -t "$2" -P "$3" -n "$4" -c "$clients" -d "$value_bytes" \
        ${BENCH_EXTRA:-} --csv |
        awk -F'","' 'NR > 1 { gsub(/"/, "", $1); printf "%s %s\n", $1, $2 }'
}

# measure_custom PORT NAME PIPELINE REQUESTS COMMAND... : prints "NAME ops/s".
measure_custom() {
    local port=$1 name=$2 pipeline=$3 requests=$4
    shift 4
    redis-benchmark -p "$port" -P "$pipeline" -n "$requests" -c "$clients" --csv "$@" |
        awk -F'","' -v name="$name" 'NR > 1 { gsub(/"/, "", $2); printf "%s %s\n", name, $2 }'
}

# row NAME PIPELINE : appends one table row from $work/redis.out and $work/rockslot.out.
row() {
    join <(sort "$work/redis.out") <(sort "$work/rockslot.out") |
        awk -v p="$2" '{ printf "| %-8s | %3s | %14.0f | %14.0f | %14.2f |\n", $1, p, $2, $3, ($2 > 0 ? $3 / $2 : 0) }' \
            >>"$table"
}
start redis "$redis_bin" --appendonly yes --appendfsync everysec --save ""
redis_port=$port
start rockslot "$rockslot_bin"
rockslot_port=$port

table="$work/table"
printf '| %-8s | %3s | %14s | %14s | %14s |\n' test P "redis ops/s" "rockslot ops/s" "rockslot/redis" >"$table"
printf '|----------|-----|----------------|----------------|----------------|\n' >>"$table"
for run in "${runs[@]}"; do
    read -r tests pipeline requests <<<"$run"
    requests=$(awk -v n="$requests" -v s="$scale" 'BEGIN { printf "%d", n * s }')
    echo "bench: -t $tests -P $pipeline -n $requests against redis, then rockslot" >&2
    measure "$redis_port" "$tests" "$pipeline" "$requests" >"$work/redis.out"
    measure "$rockslot_port" "$tests" "$pipeline" "$requests" >"$work/rockslot.out"
    row "$tests" "$pipeline"
done

set -f # a custom command's `*` (XADD's ID) is an argument, not a file pattern
for custom in "${customs[@]}"; do
    read -r name pipeline requests command <<<"$custom"
    requests=$(awk -v n="$requests" -v s="$scale" 'BEGIN { printf "%d", n * s }')
    echo "bench: $command -P $pipeline -n $requests against redis, then rockslot" >&2
    # shellcheck disable=SC2086 # the command is a list of words
    measure_custom "$redis_port" "$name" "$pipeline" "$requests" $command >"$work/redis.out"
    # shellcheck disable=SC2086
    measure_custom "$rockslot_port" "$name" "$pipeline" "$requests" $command >"$work/rockslot.out"
    row "$name" "$pipeline"
done
set +f
tx=$(awk -v n="$transactions" -v s="$scale" 'BEGIN { printf "%d", n * s }')
echo "bench: MULTI/EXEC x $tx against redis, then rockslot" >&2
"$txbench_bin" "$redis_port" "$clients" "$tx" | tr -d / >"$work/redis.out"
"$txbench_bin" "$rockslot_port" "$clients" "$tx" | tr -d / >"$work/rockslot.out"
row "multiexec" 1
entries=$(awk -v n="$stream_entries" -v s="$scale" 'BEGIN { printf "%d", n * s }')
echo "bench: XREADGROUP/XACK of $entries entries against redis, then rockslot" >&2
"$streambench_bin" "$redis_port" "$clients" "$entries" >"$work/redis.out"
"$streambench_bin" "$rockslot_port" "$clients" "$entries" >"$work/rockslot.out"
row "xreadack" 1

# SET with the AOF on in both, under each fsync policy (`appendfsync always` fsyncs before every
# reply, shared by the clients waiting at that moment; `everysec` once a second).
aof_requests=$(awk -v n="$aof_sets" -v s="$scale" 'BEGIN { printf "%d", n * s }')
for policy in always everysec; do
    echo "bench: SET with appendonly yes, appendfsync $policy, redis then rockslot" >&2
    start "aof-redis-$policy" "$redis_bin" --appendonly yes --appendfsync "$policy" --save ""
    measure "$port" set 1 "$aof_requests" | sed "s/^SET/set-aof-$policy/" >"$work/redis.out"
    start "aof-rockslot-$policy" "$rockslot_bin" --appendonly yes --appendfsync "$policy"
    measure "$port" set 1 "$aof_requests" | sed "s/^SET/set-aof-$policy/" >"$work/rockslot.out"
    row "set-aof-$policy" 1
done

# Startup load of a dump.rdb: real Redis writes one of about `rdb_keys` mixed keys (strings,
# hashes, sets, sorted sets), then each server starts on a copy of it; keys per second from the
# process start to its first PONG.
keys=$(awk -v n="$rdb_keys" -v s="$scale" 'BEGIN { printf "%d", n * s }')
echo "bench: startup load of a dump.rdb of about $keys keys, redis then rockslot" >&2
start gen "$redis_bin" --save "" --enable-debug-command yes
gen_port=$port
redis-cli -p "$gen_port" debug populate $((keys * 7 / 10)) str 100 >/dev/null
for command in "HSET h:__rand_int__ f __rand_int__" "SADD s:__rand_int__ __rand_int__" \
    "ZADD z:__rand_int__ __rand_int__ m"; do
    # shellcheck disable=SC2086 # the command is a list of words
    redis-benchmark -p "$gen_port" -r $((keys / 10)) -n $((keys / 5)) -P 16 -q $command >/dev/null
done
redis-cli -p "$gen_port" save >/dev/null
loaded=$(redis-cli -p "$gen_port" dbsize)
for name in redis rockslot; do
    mkdir -p "$work/load-$name"
    cp "$work/gen/dump.rdb" "$work/load-$name/dump.rdb"
done
# time_load NAME BINARY ARGS... : starts a server on $work/NAME (its dump.rdb), sets $port and
# writes "rdbload keys/s" to $work/NAME.rate. Not in a subshell (see start).
time_load() {
    local name=$1 bin=$2 began ended
    shift 2
    began=$(date +%s.%N)
    start "$name" "$bin" --save "" "$@"
    ended=$(date +%s.%N)
    awk -v k="$loaded" -v a="$began" -v b="$ended" 'BEGIN { printf "rdbload %.0f\n", k / (b - a) }' \
        >"$work/$name.rate"
}
time_load load-redis "$redis_bin" --repl-diskless-sync-delay 0
load_redis_port=$port
time_load load-rockslot "$rockslot_bin"
load_rockslot_port=$port
cp "$work/load-redis.rate" "$work/redis.out"
cp "$work/load-rockslot.rate" "$work/rockslot.out"
row "rdbload" "-"

# Full sync of that dataset to a real Redis replica (diskless, Redis's default, with no delay),
# from each server in turn: keys per second from REPLICAOF until the replica's link is up and
# its offset equals the primary's. First at once after the load (`fullsync-cold`: rockslot's
# RocksDB still compacts the files the load ingested, on the same two cores), then again once
# those compactions settled (`fullsync`, the steady state). Then SETs to each primary while
# its replica is attached.
sync_replica() {
    local replica_port=$1 primary_port=$2 name=$3 began ended
    redis-cli -p "$replica_port" replicaof no one >/dev/null
    redis-cli -p "$replica_port" flushall >/dev/null
    began=$(date +%s.%N)
    redis-cli -p "$replica_port" replicaof 127.0.0.1 "$primary_port" >/dev/null
    until redis-cli -p "$replica_port" info replication | grep -q "master_link_status:up" &&
        [ "$(redis-cli -p "$replica_port" info replication | tr -d '\r' | awk -F: '/^slave_repl_offset/ { print $2 }')" = \
            "$(redis-cli -p "$primary_port" info replication | tr -d '\r' | awk -F: '/^master_repl_offset/ { print $2 }')" ]; do
        sleep 0.05
    done
    ended=$(date +%s.%N)
    awk -v k="$loaded" -v a="$began" -v b="$ended" -v n="$name" 'BEGIN { printf "%s %.0f\n", n, k / (b - a) }'
}
# settle PORT : waits (two minutes at most) until rockslot reports no flush or compaction to do.
settle() {
    local info
    for _ in $(seq 1200); do
        info=$(redis-cli -p "$1" info rocksdb | tr -d '\r')
        if grep -q '^compaction_pending:0' <<<"$info" && grep -q '^running_compactions:0' <<<"$info" &&
            grep -q '^running_flushes:0' <<<"$info"; then
            return
        fi
        sleep 0.1
    done
    echo "bench: rockslot's compactions did not settle in two minutes" >&2
}
start sync-redis "$redis_bin" --save ""
redis_replica_port=$port
start sync-rockslot "$redis_bin" --save ""
rockslot_replica_port=$port
echo "bench: full sync of $loaded keys to a real Redis replica at once after the load" >&2
sync_replica "$redis_replica_port" "$load_redis_port" fullsync-cold >"$work/redis.out"
sync_replica "$rockslot_replica_port" "$load_rockslot_port" fullsync-cold >"$work/rockslot.out"
row "fullsync-cold" "-"
echo "bench: the same once rockslot's compactions settled" >&2
settle "$load_rockslot_port"
sync_replica "$redis_replica_port" "$load_redis_port" fullsync >"$work/redis.out"
sync_replica "$rockslot_replica_port" "$load_rockslot_port" fullsync >"$work/rockslot.out"
row "fullsync" "-"
echo "bench: SET to each primary with its replica attached" >&2
measure "$load_redis_port" set 1 "$aof_requests" | sed "s/^SET/set-replica/" >"$work/redis.out"
measure "$load_rockslot_port" set 1 "$aof_requests" | sed "s/^SET/set-replica/" >"$work/rockslot.out"
row "set-replica" 1

cat "$table"
if [ -n "${BENCH_OUT:-}" ]; then
    {
        echo "$(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $clients clients, ${value_bytes}-byte values"
        cat "$table"
    } >"$BENCH_OUT"
    echo "bench: table written to $BENCH_OUT" >&2
fi

#!/usr/bin/env bash
# Seeds the rdb_reader corpus with the real RDB files of ../shared/fixtures (rdb/ and bad/).
#   fuzz/seed-corpus.sh [corpus-dir]     (default: fuzz/corpus/rdb_reader)
# Files over MAX_SEED_BYTES (default 256 KiB) are left out: libFuzzer sizes its inputs after the
# biggest seed, and multi-megabyte inputs slow every execution down.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
corpus="${1:-$here/corpus/rdb_reader}"
max="${MAX_SEED_BYTES:-262144}"
fixtures="${ROCKSLOT_FIXTURES:-$here/../../shared/fixtures}"
mkdir -p "$corpus"
count=0
for f in "$fixtures"/rdb/*.rdb "$fixtures"/bad/*.rdb; do
    [[ -f "$f" ]] || continue
    if (( $(stat -c %s "$f") <= max )); then
        cp "$f" "$corpus/"
        count=$((count + 1))
    fi
done
echo "seeded $count files into $corpus"

#!/bin/sh
# The lookup benchmark (issue 7). Not a test: it prints figures.
#   sh bench/run_lookup.sh [BUILD_DIR] [N]
# Imports N realistic objects (default 1,000,000; bench/gen_bundle) into a
# fresh home, builds the lookup index with `strait lookup` (time, peak RSS,
# index size against the store), then bench_lookup times lookups of values
# the store names and of absent addresses, against a baseline measured in
# the same run: one object read by id. Then the same for strait search over
# N texts in three languages (bench_lookup gen-text).
set -eu
BUILD=${1:-build}
N=${2:-1000000}
STRAIT=$BUILD/src/daemon/strait
OUT=${BENCH_OUT:-bench/out}
mkdir -p "$OUT"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
f="$OUT/bundle-$N.json"
[ -f "$f" ] || "$BUILD/bench/gen_bundle" "$N" > "$f"
home="$OUT/lookup-home-$N"
rm -rf "$home"
"$STRAIT" --home "$home" init --name BENCH >/dev/null
t0=$(date +%s.%N)
"$STRAIT" --home "$home" import --quiet "$f" >/dev/null
t1=$(date +%s.%N)
echo "import: $N objects in $(echo "$t0 $t1" | awk '{printf "%.1f s", $2 - $1}')"
/usr/bin/time -v "$STRAIT" --home "$home" lookup --quiet 192.0.2.1 \
	>/dev/null 2>"$OUT/lookup-index-time.txt" || true
t2=$(date +%s.%N)
rss=$(awk '/Maximum resident/ {printf "%.0f MB", $6 / 1024}' "$OUT/lookup-index-time.txt")
db=$(du -cb "$home"/strait.db* | tail -n 1 | cut -f1)
ix=$(du -cb "$home"/lookup.db* | tail -n 1 | cut -f1)
echo "index: built in $(echo "$t1 $t2" | awk '{printf "%.1f s", $2 - $1}'), peak RSS $rss, $(echo "$ix $db" | awk '{printf "%.0f MB = %.2fx the store (%.0f MB)", $1 / 1e6, $1 / $2, $2 / 1e6}')"
"$BUILD/bench/bench_lookup" "$home" --samples "${SAMPLES:-2000}"

# Search: N names and descriptions, a third each in Korean, Japanese and
# English (bench_lookup gen-text), imported into their own home.
t="$OUT/text-$N.json"
[ -f "$t" ] || "$BUILD/bench/bench_lookup" gen-text "$N" > "$t"
shome="$OUT/search-home-$N"
rm -rf "$shome"
"$STRAIT" --home "$shome" init --name BENCH >/dev/null
"$STRAIT" --home "$shome" import --quiet "$t" >/dev/null
t3=$(date +%s.%N)
/usr/bin/time -v "$STRAIT" --home "$shome" search --quiet zzzz \
	>/dev/null 2>"$OUT/search-index-time.txt" || true
t4=$(date +%s.%N)
rss=$(awk '/Maximum resident/ {printf "%.0f MB", $6 / 1024}' "$OUT/search-index-time.txt")
db=$(du -cb "$shome"/strait.db* | tail -n 1 | cut -f1)
ix=$(du -cb "$shome"/lookup.db* | tail -n 1 | cut -f1)
echo "search index: $N texts in $(echo "$t3 $t4" | awk '{printf "%.1f s", $2 - $1}'), peak RSS $rss, $(echo "$ix $db" | awk '{printf "%.0f MB = %.2fx the store (%.0f MB)", $1 / 1e6, $1 / $2, $2 / 1e6}')"
"$BUILD/bench/bench_lookup" "$shome" --search --samples "${SEARCH_SAMPLES:-500}"

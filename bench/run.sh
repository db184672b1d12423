#!/bin/sh
# The import benchmark (issue: foundation). Not a test: it prints figures.
#   sh bench/run.sh [BUILD_DIR] [N]
# Generates N realistic objects as one bundle (default 1,000,000), then in
# one run: the parse-only ceiling, parse+validate+canonical, the insert-only
# ceiling of the same rows, and the real `strait import` into a fresh home
# (objects/s, MB/s, peak RSS, database size against input size). Repeats the
# import with N/10 objects to compare peak RSS.
set -eu
BUILD=${1:-build}
N=${2:-1000000}
BIN=$BUILD/bench
STRAIT=$BUILD/src/daemon/strait
OUT=${BENCH_OUT:-bench/out}
mkdir -p "$OUT"

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"

gen() {
	f="$OUT/bundle-$1.json"
	[ -f "$f" ] || "$BIN/gen_bundle" "$1" > "$f"
	echo "$f"
}

import_run() {
	n=$1
	f=$(gen "$n")
	home="$OUT/home-$n"
	rm -rf "$home"
	"$STRAIT" --home "$home" init --name BENCH >/dev/null
	/usr/bin/time -v "$STRAIT" --home "$home" import --quiet --json "$f" \
		> "$OUT/import-$n.json" 2> "$OUT/time-$n.txt" || true
	in_bytes=$(stat -c %s "$f")
	db_bytes=$(du -cb "$home"/strait.db* | tail -n 1 | cut -f1)
	rss=$(awk '/Maximum resident/ {print $6}' "$OUT/time-$n.txt")
	/usr/bin/python3 - "$OUT/import-$n.json" "$in_bytes" "$db_bytes" "$rss" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
inb, dbb, rss = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print("import %d objects: stored %d dup %d rejected %d, %.2f s, "
      "%.0f objects/s, %.1f MB/s, peak RSS %.1f MB, db %.1f MB = %.2fx input "
      "(%.1f MB)" % (s["objects"], s["stored"], s["duplicate"], s["rejected"],
      s["seconds"], s["objects"] / s["seconds"],
      s["bytes"] / s["seconds"] / 1e6, rss / 1024, dbb / 1e6, dbb / inb,
      inb / 1e6))
PY
}

f=$(gen "$N")
echo "input: $f, $(stat -c %s "$f") bytes"
"$BIN/ceilings" parse "$f"
"$BIN/ceilings" validate "$f"
rm -rf "$OUT/ceiling" && mkdir -p "$OUT/ceiling"
"$BIN/ceilings" insert "$f" "$OUT/ceiling"
rm -rf "$OUT/ceiling"
import_run "$N"
import_run $((N / 10))

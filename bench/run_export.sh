#!/bin/sh
# The export benchmark (issue 7). Not a test: it prints figures.
#   sh bench/run_export.sh [BUILD_DIR] [N]
# Imports N indicators (default 1,000,000; bench_lookup gen-indicators:
# equalities on addresses, domains, URLs and SHA-256, some ORs, one in
# twenty with AND), then times `strait export` of them as Zeek Intel and
# as Suricata rules (the first run gives out every sid, the second finds
# them) against the baseline measured in the same run: the same
# indicators exported as a STIX bundle, which reads and writes every
# object without looking at its pattern.
set -eu
BUILD=${1:-build}
N=${2:-1000000}
STRAIT=$BUILD/src/daemon/strait
OUT=${BENCH_OUT:-bench/out}
mkdir -p "$OUT"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
f="$OUT/indicators-$N.json"
[ -f "$f" ] || "$BUILD/bench/bench_lookup" gen-indicators "$N" > "$f"
home="$OUT/export-home-$N"
rm -rf "$home"
"$STRAIT" --home "$home" init --name BENCH >/dev/null
"$STRAIT" --home "$home" import --quiet "$f" >/dev/null
run() { # label, args...
	label=$1
	shift
	/usr/bin/time -f "%e %M" -o "$OUT/export-time.txt" \
		"$STRAIT" --home "$home" export "$@" -o "$OUT/export.out" \
		2>"$OUT/export-err.txt" >/dev/null
	set -- $(cat "$OUT/export-time.txt")
	lines=$(grep -cv '^#' "$OUT/export.out" || true)
	echo "$label: $(echo "$N $1" | awk '{printf "%.2f s, %.0f indicators/s", $2, $1 / $2}'), peak RSS $(echo "$2" | awk '{printf "%.0f MB", $1 / 1024}'), $lines lines; $(head -1 "$OUT/export-err.txt")"
}
run "baseline: --format stix" --format stix
run "zeek-intel" --format zeek-intel
run "suricata (every sid new)" --format suricata
run "suricata (sids kept)" --format suricata
run "blocklist" --format blocklist

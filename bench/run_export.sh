#!/bin/sh
# The export benchmark (issue 7). Not a test: it prints figures.
#   sh bench/run_export.sh [BUILD_DIR] [N]
# Imports N indicators (default 1,000,000; bench_lookup gen-indicators:
# equalities on addresses, domains, URLs and SHA-256, some ORs, one in
# twenty with AND) into bench/out/export-home-N, or reuses that home when
# an earlier run left it (BENCH_FRESH=1 imports again), then times
# `strait export` of them as Zeek Intel, as Suricata rules (the first run
# gives out every sid, the next ones find them) and as Suricata datasets,
# against the baseline measured in the same run: the same indicators
# exported as a STIX bundle, which reads and writes every object without
# looking at its pattern.
#
# BASE=path/to/an/older/strait times that binary too, each Suricata run
# beside the same run of this build (ROUNDS times, alternately), on a copy
# of the home: exports.db changed schema, so each keeps its own.
set -eu
BUILD=${1:-build}
N=${2:-1000000}
STRAIT=$BUILD/src/daemon/strait
OUT=${BENCH_OUT:-bench/out}
BASE=${BASE:-}
ROUNDS=${ROUNDS:-2}
mkdir -p "$OUT"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
f="$OUT/indicators-$N.json"
[ -f "$f" ] || "$BUILD/bench/bench_lookup" gen-indicators "$N" > "$f"
home="$OUT/export-home-$N"
if [ "${BENCH_FRESH:-0}" = 1 ] || [ ! -f "$home/strait.yaml" ]; then
	rm -rf "$home"
	"$STRAIT" --home "$home" init --name BENCH >/dev/null
	"$STRAIT" --home "$home" import --quiet "$f" >/dev/null
else
	echo "reusing $home"
fi
if [ -n "$BASE" ]; then
	rm -rf "$home-base"
	mkdir "$home-base"
	for x in strait.yaml strait.db keys; do
		cp -r "$home/$x" "$home-base/"
	done
fi
run() { # binary, home, label, args...
	bin=$1
	h=$2
	label=$3
	shift 3
	/usr/bin/time -f "%e %M %U %S" -o "$OUT/export-time.txt" \
		"$bin" --home "$h" export "$@" -o "$OUT/export.out" \
		2>"$OUT/export-err.txt" >/dev/null
	set -- $(cat "$OUT/export-time.txt")
	if [ -d "$OUT/export.out" ]; then
		lines=$(cat "$OUT"/export.out/*.lst | wc -l)
	else
		lines=$(grep -cv '^[#;$@]' "$OUT/export.out" || true)
	fi
	echo "$label: $(echo "$N $1 $3 $4" | awk '{printf "%.2f s (cpu %.2f s), %.0f indicators/s", $2, $3 + $4, $1 / $2}'), peak RSS $(echo "$2" | awk '{printf "%.0f MB", $1 / 1024}'), $lines lines; $(head -1 "$OUT/export-err.txt")"
}
new_sids() { # binary, home, label
	rm -f "$2/exports.db"
	run "$1" "$2" "$3 (every sid new)" --format suricata
}
kept_sids() {
	run "$1" "$2" "$3 (sids kept)" --format suricata
}
rm -rf "$OUT/export.out"
run "$STRAIT" "$home" "baseline: --format stix" --format stix
run "$STRAIT" "$home" "zeek-intel" --format zeek-intel
if [ -n "$BASE" ]; then
	i=0
	while [ "$i" -lt "$ROUNDS" ]; do
		new_sids "$BASE" "$home-base" "base suricata"
		new_sids "$STRAIT" "$home" "suricata"
		kept_sids "$BASE" "$home-base" "base suricata"
		kept_sids "$STRAIT" "$home" "suricata"
		i=$((i + 1))
	done
	rm -rf "$home-base"
else
	new_sids "$STRAIT" "$home" "suricata"
	kept_sids "$STRAIT" "$home" "suricata"
	kept_sids "$STRAIT" "$home" "suricata"
fi
rm -f "$OUT/export.out"
run "$STRAIT" "$home" "suricata-dataset" --format suricata-dataset
rm -rf "$OUT/export.out"
run "$STRAIT" "$home" "blocklist" --format blocklist
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

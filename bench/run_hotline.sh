#!/bin/sh
# The hotline benchmark (issue 6). Not a test: it prints figures, each
# beside a baseline measured in the same run.
#   sh bench/run_hotline.sh BUILD_DIR [N]
# Two nodes (KR, JP) on loopback, linked both ways; KR's principal kim
# sends FLASH messages (status Test) to JP's principal tanaka, one every
# 20 ms, handed in to KR's API as kim's client would; the latency is from
# the start of that POST to the message's event on JP's hotline feed (JP
# shows it once committed; KR relays it before its own disk has it, and
# answers the POST once it has). Three phases:
#   1. idle link: the baseline;
#   2. while KR replicates N objects (default 100000, bench/gen_bundle) to
#      JP: `strait import` at KR, then KR's senders push them; only the
#      messages handed in between JP's first and last bulk arrival count;
#   3. idle again.
# FLASH's per-sender limit is lifted on JP for the run. Knobs
# (environment): BENCH_OUT (default bench/out), SECONDS_IDLE (5), ROUNDS
# (3: phase 2 is repeated, each time with N new objects, and the messages
# of all rounds' windows are counted together), SYNC_PROBE (1: during
# phase 2 also time a 4 KiB write + fdatasync every 20 ms on the same
# disk, bench/sync_probe, for what any durable write waits for then; off
# by default, since its syncs add to the disk's load).
set -eu
BUILD=${1:?usage: sh bench/run_hotline.sh BUILD_DIR [N]}
N=${2:-100000}
S=$(cd "$BUILD" && pwd)/src/daemon/strait
FLASH=$(cd "$BUILD" && pwd)/bench/hotline_flash
GEN=$BUILD/bench/gen_bundle
PROBE=$(cd "$BUILD" && pwd)/bench/sync_probe
OUT=${BENCH_OUT:-bench/out}/hotline-$N
IDLE=${SECONDS_IDLE:-5}
ROUNDS=${ROUNDS:-3}
PASS="benchmark passphrase"
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

json_field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" | head -1; }
json_num() { sed -n "s/.*\"$1\":\\([0-9]*\\).*/\\1/p" | head -1; }
start() { # name
	"$S" --home "$OUT/$1" serve --listen 127.0.0.1:0 \
		>"$OUT/$1.out" 2>>"$OUT/$1.log" &
	echo $! >"$OUT/$1.pid"
	i=0
	until grep -q taxii2 "$OUT/$1.out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 600 ] || { echo "$1 did not start" >&2; exit 1; }
		sleep 0.05
	done
	sed -n 's/.*\(http:[^ ]*\/\)taxii2\/.*/\1/p' "$OUT/$1.out" | head -1 \
		>"$OUT/$1.base"
}
stop() { kill "$(cat "$OUT/$1.pid")" 2>/dev/null || true
	wait "$(cat "$OUT/$1.pid")" 2>/dev/null || true; }
trap 'stop kr; stop jp' EXIT

for n in "kr NCSC KR kim" "jp NISC JP tanaka"; do
	set -- $n
	"$S" --home "$OUT/$1" init --name "$2" --org "$2" --country "$3" \
		>/dev/null
	sed -i 's/flash_per_minute: 30/flash_per_minute: 99999/' \
		"$OUT/$1/strait.yaml"
	"$S" --home "$OUT/$1" user add admin --role admin >"$OUT/$1.admin"
	"$S" --home "$OUT/$1" user add "$4" --role principal >"$OUT/$1.principal"
	echo "$PASS" | "$S" --home "$OUT/$1" hotline keygen --out \
		"$OUT/$1.key" --kdf interactive >/dev/null
	"$S" --home "$OUT/$1" hotline enroll "$4" --key "$OUT/$1.key" \
		>"$OUT/$1.enroll"
	p=$([ "$1" = kr ] && echo jp || echo kr)
	"$S" --home "$OUT/$1" user add "$p" --role peer >"$OUT/$1.tok.$p"
	"$S" --home "$OUT/$1" collection grant default "$p" write
done
printf 'tlp: [clear, green, amber, amber+strict]\ncollections: ["*"]\ntypes: ["*"]\nlabels: ["*"]\n' \
	>"$OUT/all.yaml"
start kr
start jp
for n in kr jp; do
	p=$([ "$n" = kr ] && echo jp || echo kr)
	key=$("$S" --home "$OUT/$p" node show --json | json_field public_key)
	"$S" --home "$OUT/$n" peer add "$p" --url "$(cat "$OUT/$p.base")taxii2/" \
		--key "$key" --token - --policy "$OUT/all.yaml" \
		<"$OUT/$p.tok.$n" >/dev/null
done
# each node holds the other's principal, then confirms its key
i=0
until "$S" --home "$OUT/kr" contacts --json | grep -q tanaka &&
	"$S" --home "$OUT/jp" contacts --json | grep -q kim; do
	i=$((i + 1))
	[ $i -lt 1200 ] || { echo "profiles not exchanged" >&2; exit 1; }
	sleep 0.05
done
"$S" --home "$OUT/kr" hotline trust jp:tanaka \
	"$(sed -n 's/^fingerprint //p' "$OUT/jp.enroll")" >/dev/null
"$S" --home "$OUT/jp" hotline trust kr:kim \
	"$(sed -n 's/^fingerprint //p' "$OUT/kr.enroll")" >/dev/null

RES=$OUT/results.txt
{
	echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB," \
		"load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "command: sh bench/run_hotline.sh $BUILD $N  ($(date -u +%FT%TZ))"
} >"$RES"

flash() { # seconds out [--bulk-watch url token file]
	secs=$1 file=$2
	shift 2
	echo "$PASS" | "$FLASH" --post "$(cat "$OUT/kr.base")" \
		"$(cat "$OUT/kr.principal")" --watch "$(cat "$OUT/jp.base")" \
		"$(cat "$OUT/jp.principal")" --home "$OUT/kr" --as kim \
		--key "$OUT/kr.key" --to jp:tanaka --seconds "$secs" \
		--out "$file" "$@"
}
# p50, p99, max of the latencies in file (column 2: from the start of the
# hand-in; with NODES=1, column 2 minus column 3: counted from KR's 202,
# below 0 when JP showed the message before KR's disk had it) with wall
# time (column 1) in [from, to]
stats() { # file label [from to]
	awk -v a="${3:-0}" -v b="${4:-9e18}" -v n="${NODES:-0}" \
		'$1 >= a && $1 <= b {print n ? $2 - $3 : $2}' \
		"$1" | sort -n | awk -v label="$2" '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print label ": no message"; exit }
			p50 = v[int(NR * 0.50 + 0.5) < 1 ? 1 : int(NR * 0.50 + 0.5)]
			p99 = v[int(NR * 0.99 + 0.5) < 1 ? 1 : int(NR * 0.99 + 0.5)]
			printf "%s: %d FLASH, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
				label, NR, p50, p99, v[NR]
		}'
}

flash "$IDLE" "$OUT/idle1.txt"
stats "$OUT/idle1.txt" "idle link (baseline)" | tee -a "$RES"
NODES=1 stats "$OUT/idle1.txt" "  the same, counted from KR's 202" |
	tee -a "$RES"

# Phase 2: the bulk replication, ROUNDS times (each a new bundle). When
# it reached JP is seen by hotline_flash itself (--bulk-watch: JP's version
# count every 20 ms over one connection), not by a shell loop, whose
# processes would take CPU from what is measured.
JPB=$(cat "$OUT/jp.base")
: >"$OUT/bulk-window.txt"
r=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	"$GEN" "$N" "$r" >"$OUT/bundle.json"
	# FLASH runs through the whole replication; its window is cut after
	flash $((IDLE * 4)) "$OUT/bulk$r.txt" --bulk-watch \
		"${JPB}api/v1/health" "$(cat "$OUT/jp.admin")" \
		"$OUT/versions$r.txt" &
	FPID=$!
	PPID_=""
	if [ "${SYNC_PROBE:-0}" = 1 ]; then
		"$PROBE" "$OUT/probe.bin" $((IDLE * 4)) >"$OUT/sync$r.txt" &
		PPID_=$!
	fi
	sleep 1
	t_import=$(date +%s.%N)
	"$S" --home "$OUT/kr" import --quiet "$OUT/bundle.json" >/dev/null ||
		[ $? -eq 1 ]
	wait $FPID || true
	[ -z "$PPID_" ] || wait $PPID_ || true
	read -r before prev first last <"$OUT/versions$r.txt"
	got=$((prev - before))
	[ "$got" -ge $((N * 99 / 100)) ] ||
		echo "bulk $r: only $got of $N versions reached JP while" \
			"FLASH ran; raise SECONDS_IDLE" | tee -a "$RES"
	echo "bulk $r: $got versions reached JP in $(echo "$first $last" |
		awk '{printf "%.1f s", $2 - $1}') ($(echo "$first $last $got" |
		awk '{printf "%.1fk/s", $3 / ($2 - $1) / 1000}')), import at KR" \
		"started $(echo "$t_import $first" | awk '{printf "%.1f s", $2 - $1}') before" |
		tee -a "$RES"
	awk -v a="$first" -v b="$last" '$1 >= a && $1 <= b' "$OUT/bulk$r.txt" \
		>>"$OUT/bulk-window.txt"
	[ -z "$PPID_" ] || awk -v a="$first" -v b="$last" \
		'$1 >= a && $1 <= b' "$OUT/sync$r.txt" >>"$OUT/sync-window.txt"
done
stats "$OUT/bulk-window.txt" "during the bulk replications" | tee -a "$RES"
NODES=1 stats "$OUT/bulk-window.txt" \
	"  the same, counted from KR's 202" | tee -a "$RES"
[ ! -s "$OUT/sync-window.txt" ] || stats "$OUT/sync-window.txt" \
	"  a 4 KiB write + fdatasync on the same disk meanwhile" |
	sed 's/ FLASH,/ syncs,/' | tee -a "$RES"

flash "$IDLE" "$OUT/idle2.txt"
stats "$OUT/idle2.txt" "idle link again" | tee -a "$RES"
echo "results in $RES"

#!/bin/sh
# The federation benchmark (issue 5). Not a test: it prints figures, each
# beside a ceiling measured in the same run.
#   sh bench/run_fed.sh BUILD_DIR [N]
# Three nodes (KR, JP, US) on loopback, linked as a triangle as `make demo`
# links them, then:
#   - propagation KR -> JP of single objects and of 100-object bursts
#     (bench/fed_latency: POST to KR, arrival on JP's live stream), beside
#     the POST to KR alone (KR's own durable write: the ceiling);
#   - relay KR -> JP -> US (KR's policy for US then grants nothing);
#   - catch-up: JP is stopped, KR imports N objects (bench/gen_bundle, the
#     import benchmark's mix), finishes pushing them to US and deciding
#     them for JP (its decider goes on through an outage), JP starts
#     again and receives what KR's policy gives it (KR's push and JP's own
#     catch-up), attestations verified; the rate is counted from the first
#     version that arrives to the last; beside it, `strait import` of the
#     same bundle into a fresh home (one node's durable ingest).
# Knobs (environment): BENCH_OUT (default bench/out), SINGLES (500),
# BURSTS (50). N=0 measures the latencies alone.
set -eu
BUILD=${1:?usage: sh bench/run_fed.sh BUILD_DIR [N]}
N=${2:-1000000}
S=$(cd "$BUILD" && pwd)/src/daemon/strait
LAT=$BUILD/bench/fed_latency
GEN=$BUILD/bench/gen_bundle
OUT=${BENCH_OUT:-bench/out}/fed-$N
SINGLES=${SINGLES:-500}
BURSTS=${BURSTS:-50}
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

now() { date +%s.%N; }
# CPU seconds (user + system) the three nodes have used so far: on a
# shared machine the wall clock wanders, the work per object much less.
cpu3() {
	tck=$(getconf CLK_TCK)
	for n in kr jp us; do
		# fields 14 and 15 of /proc/PID/stat, after the ")" of the name
		sed 's/.*) //' "/proc/$(cat "$OUT/$n.pid")/stat" |
			awk '{print $12 + $13}'
	done | awk -v t="$tck" '{s += $1} END {printf "%.2f", s / t}'
}
json_num() { sed -n "s/.*\"$1\":\\([0-9]*\\).*/\\1/p"; }
json_field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" | head -1; }
coll_of() { "$S" --home "$OUT/$1" node show --json |
	sed -n 's/.*"collections":\[{"id":"\([^"]*\)".*/\1/p'; }

start() { # name [port]
	"$S" --home "$OUT/$1" serve --listen "127.0.0.1:${2:-0}" \
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
trap 'stop kr; stop jp; stop us' EXIT

for n in "kr NCSC KR" "jp NISC JP" "us CISA US"; do
	set -- $n
	"$S" --home "$OUT/$1" init --name "$2" --org "$2" --country "$3" \
		>/dev/null
	"$S" --home "$OUT/$1" user add analyst --role analyst \
		>"$OUT/$1.analyst"
	"$S" --home "$OUT/$1" user add admin --role admin >"$OUT/$1.admin"
	"$S" --home "$OUT/$1" collection grant default analyst write
	for p in kr jp us; do
		[ "$p" = "$1" ] && continue
		"$S" --home "$OUT/$1" user add "$p" --role peer \
			--org "$(echo "$p" | tr a-z A-Z)" >"$OUT/$1.tok.$p"
		"$S" --home "$OUT/$1" collection grant default "$p" write
	done
done
printf 'tlp: [clear, green, amber, amber+strict]\ncollections: ["*"]\ntypes: ["*"]\nlabels: ["*"]\nrelay_green: true\n' \
	>"$OUT/all.yaml"
printf 'tlp: []\n' >"$OUT/none.yaml"
for n in kr jp us; do start $n; done
for n in kr jp us; do
	for p in kr jp us; do
		[ "$p" = "$n" ] && continue
		key=$("$S" --home "$OUT/$p" node show --json |
			json_field public_key)
		"$S" --home "$OUT/$n" peer add "$p" --url \
			"$(cat "$OUT/$p.base")taxii2/" --key "$key" --token - \
			--policy "$OUT/all.yaml" <"$OUT/$p.tok.$n" >/dev/null
	done
done
for n in kr jp us; do
	i=0
	until [ "$("$S" --home "$OUT/$n" peer status --json |
		grep -o '"identity":"identity--' | wc -l)" -eq 2 ]; do
		i=$((i + 1))
		[ $i -lt 600 ] || { echo "links of $n not up" >&2; exit 1; }
		sleep 0.05
	done
done

RES=$OUT/results.txt
{
	echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB," \
		"load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "command: sh bench/run_fed.sh $BUILD $N  ($(date -u +%FT%TZ))"
} >"$RES"
KR="$(cat "$OUT/kr.base") $(cat "$OUT/kr.analyst") $(coll_of kr)"
JP="$(cat "$OUT/jp.base") $(cat "$OUT/jp.analyst") $(coll_of jp)"
US="$(cat "$OUT/us.base") $(cat "$OUT/us.analyst") $(coll_of us)"
c0=$(cpu3)
# shellcheck disable=SC2086
"$LAT" --post $KR --watch $JP --n "$SINGLES" --burst 1 \
	--label "KR -> JP, single objects" | tee -a "$RES"
c1=$(cpu3)
echo "  CPU of the three nodes per single object (KR, JP and US each" \
	"take it in): $(echo "$c0 $c1 $SINGLES" | awk '{printf "%.0f us", ($2-$1)*1e6/$3}')" |
	tee -a "$RES"
# shellcheck disable=SC2086
"$LAT" --post $KR --watch $JP --n "$BURSTS" --burst 100 \
	--label "KR -> JP, 100-object bursts" | tee -a "$RES"
"$S" --home "$OUT/kr" peer policy us "$OUT/none.yaml" >/dev/null
sleep 1.5 # the sender re-reads the registry about once a second
# shellcheck disable=SC2086
"$LAT" --post $KR --watch $US --n "$((SINGLES / 2))" --burst 1 \
	--label "KR -> JP -> US relay (KR's policy for US grants nothing)" |
	tee -a "$RES"
"$S" --home "$OUT/kr" peer policy us "$OUT/all.yaml" >/dev/null

# Catch-up after an outage (N=0: the latency figures alone).
[ "$N" -gt 0 ] || exit 0
"$GEN" "$N" >"$OUT/bundle.json"
"$S" --home "$OUT/ceiling" init --name CEIL >/dev/null
t0=$(now)
/usr/bin/time -f "%U %S" -o "$OUT/ceiling.cpu" \
	"$S" --home "$OUT/ceiling" import --quiet "$OUT/bundle.json" >/dev/null ||
	[ $? -eq 1 ]
t1=$(now)
ccpu=$(tail -1 "$OUT/ceiling.cpu" | awk '{printf "%.2f", $1 + $2}')
echo "ceiling: strait import of the $N-object bundle into a fresh home:" \
	"$(echo "$N $t0 $t1 $ccpu" | awk '{printf "%.1f s, %.1fk obj/s, CPU %.1f us/obj", $3-$2, $1/($3-$2)/1000, $4*1e6/$1}')" |
	tee -a "$RES"
JPPORT=$(sed -n 's/.*127.0.0.1:\([0-9]*\)\/.*/\1/p' "$OUT/jp.base")
stop jp
"$S" --home "$OUT/kr" import --quiet "$OUT/bundle.json" >/dev/null ||
	[ $? -eq 1 ]
# US is up and takes the same versions meanwhile: let KR finish with it
# first, so that what is timed is JP catching up, not two partners at once.
# KR's decider for JP goes on while JP is down, as it would through an
# outage: JP comes back to versions KR has decided for it.
i=0
kr_versions() {
	"$S" --home "$OUT/kr" node show --json |
		sed -n 's/.*"versions":\([0-9]*\).*/\1/p' | head -1
}
until [ "$("$S" --home "$OUT/kr" peer status us --json | json_num queue)" = 0 ] &&
	[ "$("$S" --home "$OUT/kr" peer status us --json | json_num decided)" -ge \
		"$(kr_versions)" ] &&
	[ "$("$S" --home "$OUT/kr" peer status jp --json | json_num decided)" -ge \
		"$(kr_versions)" ]; do
	i=$((i + 1))
	[ $i -lt 36000 ] || { echo "KR did not finish with US" >&2; exit 1; }
	sleep 0.1
done
health() { curl -s -H "Authorization: Bearer $(cat "$OUT/jp.admin")" \
	"http://127.0.0.1:$JPPORT/api/v1/health" | json_num versions; }
start jp "$JPPORT"
# JP's count before anything new arrives (asked again until it answers:
# an empty answer would count all it holds as new, from its start).
before=""
i=0
until [ -n "$before" ]; do
	before=$(health)
	i=$((i + 1))
	[ -n "$before" ] || [ $i -lt 600 ] || { echo "JP has no health" >&2; exit 1; }
	[ -n "$before" ] || sleep 0.05
done
first="" last="" prev=$before stable=0
cpu_first="" cpu_last=""
while :; do
	v=$(health)
	t=$(now)
	if [ "$v" != "$prev" ]; then
		c=$(cpu3)
		[ -n "$first" ] || { first=$t; cpu_first=$c; }
		last=$t
		cpu_last=$c
		prev=$v
		stable=0
	else
		stable=$((stable + 1))
		# done: KR has delivered everything it decided for JP
		q=$("$S" --home "$OUT/kr" peer status jp --json | json_num queue)
		d=$("$S" --home "$OUT/kr" peer status jp --json |
			json_num decided)
		l=$("$S" --home "$OUT/kr" node show --json |
			sed -n 's/.*"versions":\([0-9]*\).*/\1/p' | head -1)
		# (with nothing seen arriving, all of it came before JP's
		# first answer: a small N, reported below without a rate)
		if [ "$q" = 0 ] && [ "$d" -ge "$l" ] && [ $stable -ge 5 ]; then
			break
		fi
	fi
	sleep 0.1
done
got=$((prev - before))
if [ -z "$first" ]; then
	echo "catch-up KR -> JP: done before JP's first count; N=$N is too" \
		"small to time" | tee -a "$RES"
	exit 0
fi
echo "catch-up KR -> JP after an outage: $got versions in" \
	"$(echo "$got $first $last" | awk '{printf "%.1f s, %.1fk obj/s", $3-$2, $1/($3-$2)/1000}')" \
	"(attestations verified; first to last arrival)" | tee -a "$RES"
echo "  CPU of the three nodes from the first arrival to the last:" \
	"$(echo "$got $cpu_first $cpu_last" | awk '{printf "%.1f s, %.1f us/obj", $3-$2, ($3-$2)*1e6/$1}')" |
	tee -a "$RES"
grep -c quarantined "$OUT/jp.log" | sed 's/^/quarantined at JP (log lines): /' |
	tee -a "$RES"

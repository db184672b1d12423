#!/bin/sh
# The TAXII server benchmark (issue 3). Not a test: it prints figures, each
# beside a ceiling measured in the same run.
#   sh bench/run_taxii.sh BUILD_DIR [N]
# N objects (default 1,000,000, made by bench/gen_bundle, the import
# benchmark's mix) are imported into a fresh home with `strait import`
# (timed: the import ceiling). Then, on loopback:
#   - ceilings: bench_http_empty (one empty route) loaded by taxii_load with
#     1, 4 and 16 connections, and by wrk -t2 -c16;
#   - `strait serve`, time to the first discovery 200 (N stored);
#   - paging through every object with limit=1000, following `next`;
#   - 16 readers fetching 100-object pages at random positions;
#   - POST of 100-indicator envelopes by 1, then 4 posters (202 = durable),
#     first into a fresh node (before the import), then with N stored;
#   - SSE fan-out to SSE_SUBSCRIBERS streams (event latency);
#   - idle RSS of the server after the load, restart-to-serving time;
#   - `strait import` of the same kind of indicators into the same home
#     (the ceiling of the POST figures).
# Knobs (environment): BENCH_OUT (default bench/out), POST_ENVELOPES (per
# poster, 250), PAGE_LIMIT (1000), LAT_READERS (16), LAT_SECONDS (10),
# CEIL_SECONDS (5), SSE_SUBSCRIBERS (1000, 0 skips), SSE_PER_ACCOUNT (8, the
# server's per-account stream cap), SSE_PER_ADDR (16), SSE_POSTS (50),
# SSE_BATCH (10), SSE_INTERVAL_MS (200), SSE_FIT (200: the subscriber
# count measured again when the server refused some of SSE_SUBSCRIBERS),
# IDLE_SECONDS (15: the store releases idle caches after 10 s), SERVE_ARGS
# (extra `strait serve` options), SSE_RT (1: the SSE generator under
# SCHED_FIFO when allowed; 0: normal scheduling).
#
# The server gets room for the streams: --max-connections
# max(256, SSE_SUBSCRIBERS * 1.2) and --stream-max SSE_SUBSCRIBERS + 8 (the
# server refuses a stream cap above max-connections - 16; the 8 are for
# taxii_load's probe stream, closed just before the subscribers connect and
# given back within half a second). Its other limits
# are not changed: the readers (16) and posters (4) stay under
# the per-address (32) and per-account (32) request caps; the stream
# subscribers come from 127.0.0.2, .3, ... (SSE_PER_ADDR each; all of
# 127.0.0.0/8 is loopback on Linux) and use reader accounts of the node's
# organisation (SSE_PER_ACCOUNT streams each), so neither cap refuses them.
set -eu
BUILD=${1:?usage: sh bench/run_taxii.sh BUILD_DIR [N]}
N=${2:-1000000}
OUT=${BENCH_OUT:-bench/out}
WORK=$OUT/taxii-$N
HOMEDIR=$WORK/home
RES=$WORK/results.txt
POST_ENVELOPES=${POST_ENVELOPES:-250}
PAGE_LIMIT=${PAGE_LIMIT:-1000}
LAT_READERS=${LAT_READERS:-16}
LAT_SECONDS=${LAT_SECONDS:-10}
CEIL_SECONDS=${CEIL_SECONDS:-5}
SSE_SUBSCRIBERS=${SSE_SUBSCRIBERS:-1000}
SSE_PER_ACCOUNT=${SSE_PER_ACCOUNT:-8}
SSE_PER_ADDR=${SSE_PER_ADDR:-16}
SSE_POSTS=${SSE_POSTS:-50}
SSE_BATCH=${SSE_BATCH:-10}
SSE_INTERVAL_MS=${SSE_INTERVAL_MS:-200}
SSE_FIT=${SSE_FIT:-200}
IDLE_SECONDS=${IDLE_SECONDS:-15}
SERVE_ARGS=${SERVE_ARGS:-}
# The SSE generator runs under SCHED_FIFO when the system allows it (root):
# it shares the two cores with the server's thousand stream threads, and
# the kernel's fair share would otherwise let it read an event only after
# most of them had run, timing the scheduler rather than the server (the
# subscribers of a real node are on other machines). It uses about a
# tenth of a core, so it takes little from the server. SSE_RT=0 turns this
# off.
SSE_RT_CMD=
if [ "${SSE_RT:-1}" != 0 ] && chrt -f 10 true 2>/dev/null; then
	SSE_RT_CMD="chrt -f 10"
fi
# Connections for the subscribers plus a fifth for readers and writers.
SSE_CONNS=$((SSE_SUBSCRIBERS + SSE_SUBSCRIBERS / 5))
[ "$SSE_CONNS" -ge 256 ] || SSE_CONNS=256
SSE_SERVE_ARGS=
[ "$SSE_SUBSCRIBERS" -eq 0 ] ||
	SSE_SERVE_ARGS="--max-connections $SSE_CONNS --stream-max $((SSE_SUBSCRIBERS + 8))"

STRAIT=$BUILD/src/daemon/strait
LOAD=$BUILD/bench/taxii_load
EMPTY=$BUILD/bench/bench_http_empty
GEN=$BUILD/bench/gen_bundle

mkdir -p "$WORK"
rm -f "$WORK"/*.txt "$WORK"/*.err "$WORK/serve.log"
if [ -f "$BUILD/build.ninja" ]; then
	ninja -C "$BUILD" taxii_load bench_http_empty gen_bundle strait \
		> "$WORK/ninja.log" 2>&1 || { cat "$WORK/ninja.log"; exit 1; }
fi
for b in "$STRAIT" "$LOAD" "$EMPTY" "$GEN"; do
	[ -x "$b" ] || { echo "missing $b: build $BUILD first" >&2; exit 1; }
done
# 1000 streams need descriptors in the server and in the generator.
# shellcheck disable=SC3045 # dash and bash have ulimit -n and -H
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

SERVE_PID=
EMPTY_PID=
cleanup() {
	for p in $SERVE_PID $EMPTY_PID; do
		kill -TERM "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ns() { date +%s%N; }
ms_since() { echo "$(( ($(now_ns) - $1) / 1000000 ))"; }
load_avg() { cut -d' ' -f1-3 /proc/loadavg; }
# alive PID: the process exists and is not a zombie.
alive() {
	st=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null || true)
	[ -n "$st" ] && [ "$st" != Z ]
}
# step LABEL CMD...: runs CMD, keeps its result line in $WORK/LABEL.txt and
# prints it under LABEL. A failing step is reported, the run goes on.
step() {
	label=$1
	shift
	rc=0
	"$@" > "$WORK/$label.txt" 2> "$WORK/$label.err" || rc=$?
	sed "s/^/[$label] /" "$WORK/$label.err" "$WORK/$label.txt" |
		tee -a "$RES"
	[ "$rc" -eq 0 ] || echo "[$label] exit status $rc" | tee -a "$RES"
}
# get LABEL KEY: the value of KEY=... in LABEL's result line.
get() {
	v=$(sed -n "s/.*[ :]$2=\([^ ]*\).*/\1/p" "$WORK/$1.txt" 2>/dev/null |
		tail -n 1)
	echo "${v:--}"
}
# ratio A B: A / B with two decimals ("-" if either is missing).
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || b + 0 == 0) print "-";
		else printf "%.2f", a / b }'
}
mb() { # kB to MB
	case $1 in -) echo - ;; *) awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }' ;; esac
}

import_line() { # import_line LABEL: LABEL.json (strait import --json)
	awk -v RS=, -F: -v l="$1" '
		/"objects"/ {n = $2} /"stored"/ {s = $2} /"seconds"/ {t = $2 + 0}
		END { r = t > 0 ? n / t : 0
		      printf("%s: objects=%d stored=%d seconds=%.2f objects_per_s=%.0f\n",
			     l, n, s, t, r) }' "$WORK/$1.json" > "$WORK/$1.txt"
	sed "s/^/[$1] /" "$WORK/$1.txt" | tee -a "$RES"
}

start_server() { # start_server LABEL: starts `strait serve`, times it
	: > "$WORK/serve.out"
	t=$(now_ns)
	# shellcheck disable=SC2086 # the *SERVE_ARGS are lists of options
	"$STRAIT" --home "$HOMEDIR" serve --listen 127.0.0.1:0 \
		$SSE_SERVE_ARGS $SERVE_ARGS \
		> "$WORK/serve.out" 2>> "$WORK/serve.log" &
	SERVE_PID=$!
	step "$1" "$LOAD" ready --url-file "$WORK/serve.out" --token "$TOKEN" \
		--since-ns "$t" --timeout 120
	URL=$(get "$1" url)
	[ "$URL" != - ] || { echo "strait serve did not start" >&2; exit 1; }
}
stop_server() { # stop_server LABEL: SIGTERM, bounded wait
	t=$(now_ns)
	kill -TERM "$SERVE_PID"
	i=0
	while alive "$SERVE_PID" && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if alive "$SERVE_PID"; then
		echo "[$1] server did not stop in 30 s: SIGKILL" | tee -a "$RES"
		kill -KILL "$SERVE_PID"
	fi
	wait "$SERVE_PID" 2>/dev/null || true
	echo "$1: ms=$(ms_since "$t")" > "$WORK/$1.txt"
	sed "s/^/[$1] /" "$WORK/$1.txt" | tee -a "$RES"
	SERVE_PID=
}
settle() { # settle LABEL: waits (60 s at most) until the server is down to
	# its own few threads: every connection of the load has been closed.
	t=$(now_ns)
	i=0
	while [ "$(awk '/^Threads:/ {print $2}' "/proc/$SERVE_PID/status")" \
		-gt 8 ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	echo "$1: ms=$(ms_since "$t") threads=$(awk '/^Threads:/ {print $2}' \
		"/proc/$SERVE_PID/status")" > "$WORK/$1.txt"
	sed "s/^/[$1] /" "$WORK/$1.txt" | tee -a "$RES"
}
rss() { # rss LABEL: memory of the running server
	f=/proc/$SERVE_PID/status
	awk -v l="$1" '/^(VmRSS|VmHWM|RssAnon|RssFile|RssShmem|Threads):/ {
		sub(":", "", $1); s = s " " $1 "=" $2 } END { print l ":" s }' \
		"$f" > "$WORK/$1.txt"
	sed "s/^/[$1] /" "$WORK/$1.txt" | tee -a "$RES"
}

: > "$RES"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" | tee -a "$RES"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ), N=$N, load average at start: $(load_avg)" | tee -a "$RES"
LOAD_START=$(load_avg)

# --- POST into a fresh node (nothing stored yet) ---------------------
FRESH=$WORK/fresh-home
rm -rf "$FRESH"
"$STRAIT" --home "$FRESH" init --name FRESH --org BENCH > /dev/null
FTOKEN=$("$STRAIT" --home "$FRESH" user add bench-admin --role admin \
	2>/dev/null)
FCOLL=$("$STRAIT" --home "$FRESH" collection list --json |
	sed -n 's/^\[{"id":"\([^"]*\)".*/\1/p')
: > "$WORK/fresh.out"
"$STRAIT" --home "$FRESH" serve --listen 127.0.0.1:0 \
	> "$WORK/fresh.out" 2>> "$WORK/serve.log" &
SERVE_PID=$!
step fresh-ready "$LOAD" ready --url-file "$WORK/fresh.out" \
	--token "$FTOKEN" --since-ns "$(now_ns)" --timeout 60
FURL=$(get fresh-ready url)
for p in 1 4; do
	step "fresh-post$p" "$LOAD" post --url "$FURL" --token "$FTOKEN" \
		--collection "$FCOLL" --posters $p --envelopes "$POST_ENVELOPES" \
		--size 100
done
stop_server fresh-stop
rm -rf "$FRESH"

# --- Input and the import ceiling -----------------------------------
BUNDLE=$OUT/bundle-$N.json
if [ ! -f "$BUNDLE" ]; then
	"$GEN" "$N" > "$BUNDLE.tmp"
	mv "$BUNDLE.tmp" "$BUNDLE"
fi
rm -rf "$HOMEDIR"
"$STRAIT" --home "$HOMEDIR" init --name BENCH --org BENCH > /dev/null
"$STRAIT" --home "$HOMEDIR" import --quiet --json "$BUNDLE" \
	> "$WORK/import.json" || true
import_line import

# --- Accounts --------------------------------------------------------
TOKEN=$("$STRAIT" --home "$HOMEDIR" user add bench-admin --role admin \
	2>/dev/null)
COLL=$("$STRAIT" --home "$HOMEDIR" collection list --json |
	sed -n 's/^\[{"id":"\([^"]*\)".*/\1/p')
: > "$WORK/sse-tokens"
if [ "$SSE_SUBSCRIBERS" -gt 0 ]; then
	i=1
	while [ $((  (i - 1) * SSE_PER_ACCOUNT )) -lt "$SSE_SUBSCRIBERS" ]; do
		"$STRAIT" --home "$HOMEDIR" user add "sse-$i" --role reader \
			--org BENCH 2>/dev/null >> "$WORK/sse-tokens"
		"$STRAIT" --home "$HOMEDIR" collection grant default "sse-$i" \
			read > /dev/null
		i=$((i + 1))
	done
fi

# --- Ceilings: the empty handler -------------------------------------
: > "$WORK/empty.port"
"$EMPTY" > "$WORK/empty.port" 2> "$WORK/empty.log" &
EMPTY_PID=$!
i=0
while ! grep -q '^[0-9]' "$WORK/empty.port" && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
PING=http://127.0.0.1:$(head -n 1 "$WORK/empty.port")/ping/
for c in 1 4 "$LAT_READERS"; do
	step "empty-$c" "$LOAD" get --url "$PING" --conns "$c" \
		--seconds "$CEIL_SECONDS"
done
if command -v wrk > /dev/null; then
	wrk -t2 -c16 -d"${CEIL_SECONDS}s" "$PING" > "$WORK/wrk.raw" 2>&1 || true
	awk '/Requests\/sec/ {r = $2} /^ +Latency/ {l = $2}
	     END { printf "wrk: threads=2 conns=16 requests_per_s=%s latency_avg=%s\n", r, l }' \
		"$WORK/wrk.raw" > "$WORK/wrk.txt"
	sed 's/^/[wrk] /' "$WORK/wrk.txt" | tee -a "$RES"
fi
kill -TERM "$EMPTY_PID"
wait "$EMPTY_PID" 2>/dev/null || true
EMPTY_PID=

# --- The server -------------------------------------------------------
start_server start
rss rss-start
step page "$LOAD" page --url "$URL" --token "$TOKEN" --collection "$COLL" \
	--limit "$PAGE_LIMIT"
rss rss-page
step latency "$LOAD" latency --url "$URL" --token "$TOKEN" \
	--collection "$COLL" --readers "$LAT_READERS" --limit 100 \
	--seconds "$LAT_SECONDS"
rss rss-latency
step post1 "$LOAD" post --url "$URL" --token "$TOKEN" --collection "$COLL" \
	--posters 1 --envelopes "$POST_ENVELOPES" --size 100
rss rss-post1
step post4 "$LOAD" post --url "$URL" --token "$TOKEN" --collection "$COLL" \
	--posters 4 --envelopes "$POST_ENVELOPES" --size 100
rss rss-post4
if [ "$SSE_SUBSCRIBERS" -gt 0 ]; then
	# shellcheck disable=SC2086 # SSE_RT_CMD is a command prefix or empty
	step sse $SSE_RT_CMD "$LOAD" sse --url "$URL" --token "$TOKEN" --collection "$COLL" \
		--tokens-file "$WORK/sse-tokens" \
		--subscribers "$SSE_SUBSCRIBERS" --per-addr "$SSE_PER_ADDR" \
		--batch "$SSE_BATCH" --posts "$SSE_POSTS" \
		--interval-ms "$SSE_INTERVAL_MS"
	rss rss-sse
	# If the server refused some subscribers (its connection or stream
	# caps), measure again with a count that fits, for a latency figure.
	if [ "$(get sse connected)" != "$SSE_SUBSCRIBERS" ] &&
		[ "$SSE_FIT" -gt 0 ] && [ "$SSE_FIT" -lt "$SSE_SUBSCRIBERS" ]; then
		settle sse-settle
		# shellcheck disable=SC2086 # as above
		step sse-fit $SSE_RT_CMD "$LOAD" sse --url "$URL" --token "$TOKEN" \
			--collection "$COLL" --tokens-file "$WORK/sse-tokens" \
			--subscribers "$SSE_FIT" --per-addr "$SSE_PER_ADDR" \
			--batch "$SSE_BATCH" --posts "$SSE_POSTS" \
			--interval-ms "$SSE_INTERVAL_MS"
		rss rss-sse-fit
	fi
fi
LOAD_END=$(load_avg)
# Idle: the connection threads of the load have ended, then IDLE_SECONDS.
settle settle
sleep "$IDLE_SECONDS"
rss idle
WAL=$(stat -c %s "$HOMEDIR/strait.db-wal" 2>/dev/null || echo 0)
stop_server stop

# --- Restart with everything stored -----------------------------------
start_server restart
sleep 1
rss fresh
stop_server stop2

# --- Ceiling of the POST figures: import of the same indicators --------
"$LOAD" gen --envelopes $((4 * POST_ENVELOPES)) --size 100 --seed 12345 \
	> "$WORK/indicators.json"
"$STRAIT" --home "$HOMEDIR" import --quiet --json "$WORK/indicators.json" \
	> "$WORK/import-ind.json" || true
import_line import-ind
num() { case $1 in '' | - | *[!0-9]*) echo 0 ;; *) echo "$1" ;; esac; }
STORED=$(($(num "$(get page objects)") + $(num "$(get post1 stored)") +
	$(num "$(get post4 stored)") + $(num "$(get sse posted_objects)") +
	$(num "$(get sse-fit posted_objects)")))
LOAD_DONE=$(load_avg)

# --- Summary -----------------------------------------------------------
{
echo
echo "== TAXII benchmark: N=$N, $(date -u +%Y-%m-%dT%H:%M:%SZ) =="
echo "load average: start $LOAD_START, after the load $LOAD_END, end $LOAD_DONE"
echo "ceilings: empty handler (bench_http_empty) loaded by the same generator; strait import"
[ "$SSE_SUBSCRIBERS" -eq 0 ] ||
	echo "SSE subscribers: $(wc -l < "$WORK/sse-tokens") reader accounts of the node's organisation ($SSE_PER_ACCOUNT streams each), from 127.0.0.2 up ($SSE_PER_ADDR each); event latency = receipt - POST start (includes the durable commit); generator scheduling: ${SSE_RT_CMD:-normal}"
printf '%-42s %-44s %s\n' measurement result "same-run ceiling"
printf '%-42s %-44s %s\n' "strait import of the N objects" \
	"$(get import objects_per_s) obj/s, $(get import seconds) s" \
	"(itself a ceiling: no HTTP)"
printf '%-42s %-44s %s\n' "POST into a fresh node, 1 poster" \
	"$(get fresh-post1 objects_per_s) obj/s, p50 $(get fresh-post1 req_p50_ms) p99 $(get fresh-post1 req_p99_ms) ms" \
	"import same indicators $(get import-ind objects_per_s) obj/s (into the N)"
printf '%-42s %-44s %s\n' "POST into a fresh node, 4 posters (>= 50k)" \
	"$(get fresh-post4 objects_per_s) obj/s, p50 $(get fresh-post4 req_p50_ms) p99 $(get fresh-post4 req_p99_ms) ms" \
	"empty 4 conns $(get empty-4 requests_per_s) req/s"
printf '%-42s %-44s %s\n' "POST with N stored, 1 poster" \
	"$(get post1 objects_per_s) obj/s, p50 $(get post1 req_p50_ms) p99 $(get post1 req_p99_ms) ms" \
	"import same indicators $(get import-ind objects_per_s) obj/s: $(ratio "$(get post1 objects_per_s)" "$(get import-ind objects_per_s)")"
printf '%-42s %-44s %s\n' "POST with N stored, 4 posters" \
	"$(get post4 objects_per_s) obj/s, p50 $(get post4 req_p50_ms) p99 $(get post4 req_p99_ms) ms" \
	"import same indicators: $(ratio "$(get post4 objects_per_s)" "$(get import-ind objects_per_s)"); empty 4 conns $(get empty-4 requests_per_s) req/s"
printf '%-42s %-44s %s\n' "paging, limit=$PAGE_LIMIT (>= 200k obj/s)" \
	"$(get page objects_per_s) obj/s, $(get page MB_per_s) MB/s" \
	"empty 1 conn $(get empty-1 requests_per_s) req/s; pages p50 $(get page page_p50_ms) ms vs empty $(get empty-1 p50_ms) ms"
printf '%-42s %-44s %s\n' "100-obj pages, $LAT_READERS readers (p99 <= 10 ms)" \
	"p50 $(get latency p50_ms) p99 $(get latency p99_ms) ms, $(get latency requests_per_s) req/s" \
	"empty $LAT_READERS conns: p50 $(get empty-"$LAT_READERS" p50_ms) p99 $(get empty-"$LAT_READERS" p99_ms) ms, $(get empty-"$LAT_READERS" requests_per_s) req/s"
if [ "$SSE_SUBSCRIBERS" -gt 0 ]; then
printf '%-42s %-44s %s\n' "SSE, $SSE_SUBSCRIBERS subscribers (p99 <= 50 ms)" \
	"connected $(get sse connected), p50 $(get sse event_p50_ms) p99 $(get sse event_p99_ms) ms" \
	"delivered $(get sse delivered)/$(get sse expected_events); POST p50 $(get sse post_p50_ms) ms, errors $(get sse post_errors); refused 4xx $(get sse refused_4xx) 5xx $(get sse refused_5xx) no answer $(get sse transport_errors)"
if [ -f "$WORK/sse-fit.txt" ]; then
printf '%-42s %-44s %s\n' "SSE, $SSE_FIT subscribers (what fits)" \
	"connected $(get sse-fit connected), p50 $(get sse-fit event_p50_ms) p99 $(get sse-fit event_p99_ms) ms" \
	"delivered $(get sse-fit delivered)/$(get sse-fit expected_events); POST p50 $(get sse-fit post_p50_ms) ms"
fi
fi
printf '%-42s %-44s %s\n' "start to serving (<= 2 s)" \
	"first $(get start ms) ms, restart $(get restart ms) ms" \
	"$STORED objects stored at restart"
printf '%-42s %-44s %s\n' "idle RSS after load (<= 20 MB)" \
	"$(mb "$(get idle VmRSS)") (anon $(mb "$(get idle RssAnon)"), file $(mb "$(get idle RssFile)"), shm $(mb "$(get idle RssShmem)"))" \
	"peak $(mb "$(get idle VmHWM)"); after restart $(mb "$(get fresh VmRSS)"); WAL $((WAL / 1048576)) MB; connections closed $(get settle ms) ms after the load"
printf '%-42s %-44s %s\n' "wrk -t2 -c16, empty handler" \
	"$(get wrk requests_per_s) req/s" ""
echo "server VmRSS / VmHWM after each phase: start $(mb "$(get rss-start VmRSS)"), page $(mb "$(get rss-page VmRSS)") / $(mb "$(get rss-page VmHWM)"), latency $(mb "$(get rss-latency VmRSS)") / $(mb "$(get rss-latency VmHWM)"), post1 $(mb "$(get rss-post1 VmRSS)") / $(mb "$(get rss-post1 VmHWM)"), post4 $(mb "$(get rss-post4 VmRSS)") / $(mb "$(get rss-post4 VmHWM)"), sse $(mb "$(get rss-sse VmRSS)") / $(mb "$(get rss-sse VmHWM)"), sse-fit $(mb "$(get rss-sse-fit VmRSS)") / $(mb "$(get rss-sse-fit VmHWM)")"
} | tee -a "$RES"
echo "(all lines: $RES; server log: $WORK/serve.log)"

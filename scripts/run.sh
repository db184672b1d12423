#!/bin/sh
# `make run`: the first time, creates a node home with the sample data and an
# admin account; every time, shows the node and runs `strait serve` in the
# foreground (Ctrl-C stops it). As soon as the server listens, it prints the
# discovery URL, the admin token and a curl line to paste.
#
#   sh scripts/run.sh [STRAIT_BINARY]
#
#   STRAIT_HOME    the node home (default ./strait-home)
#   STRAIT_LISTEN  listen address, instead of strait.yaml's `listen`
#                  (127.0.0.1:7400 unless changed); port 0 picks a free one
#
# The admin token is kept in $STRAIT_HOME/admin.token, mode 0600. If that
# file is deleted, the next run revokes the account's tokens and keeps a new
# one there.
set -eu
STRAIT=${1:-build/src/daemon/strait}
STRAIT_HOME=${STRAIT_HOME:-./strait-home}
export STRAIT_HOME
TOKEN_FILE=$STRAIT_HOME/admin.token
MEDIA='application/taxii+json;version=2.1'

if [ ! -f "$STRAIT_HOME/strait.yaml" ]; then
	"$STRAIT" init --name "${STRAIT_NODE_NAME:-NCSC}" \
		--org "${STRAIT_NODE_ORG:-National Cyber Security Center}" \
		--country "${STRAIT_NODE_COUNTRY:-KR}"
	echo
	echo "importing the bundled sample data set (data/sample/)..."
	# The sample holds a few unmarked objects; they take TLP:AMBER.
	"$STRAIT" import --quiet data/sample/*.json || [ $? -eq 1 ]
	echo
fi

# Writes a new admin token to $TOKEN_FILE (readable only by this user):
# `strait user add admin ...` or `strait user token admin`.
new_token() (
	umask 077
	if ! "$STRAIT" user "$@" >"$TOKEN_FILE.new" 2>"$TOKEN_FILE.err"; then
		cat "$TOKEN_FILE.err" >&2
		rm -f "$TOKEN_FILE.new" "$TOKEN_FILE.err"
		exit 1
	fi
	rm -f "$TOKEN_FILE.err"
	mv "$TOKEN_FILE.new" "$TOKEN_FILE"
)

if [ ! -s "$TOKEN_FILE" ]; then
	if "$STRAIT" user list --json | grep -q '"name":"admin"'; then
		new_token token admin
		echo "$TOKEN_FILE was missing: issued a new token for 'admin'" \
			"(its earlier tokens no longer work)"
	else
		new_token add admin --role admin
		echo "created the account 'admin' (role admin); its token is" \
			"kept in $TOKEN_FILE"
	fi
	echo
fi
chmod 600 "$TOKEN_FILE"
TOKEN=$(cat "$TOKEN_FILE")

"$STRAIT" node show
cat <<MSG

Explore it (the home is $STRAIT_HOME; every command takes --help):
  $STRAIT collection list
  $STRAIT get $("$STRAIT" export --type intrusion-set 2>/dev/null |
	grep -o 'intrusion-set--[0-9a-f-]*' | head -n 1)
  $STRAIT export --type indicator -o indicators.json

MSG

# `strait serve` prints the URL it serves as its first line: only then is
# the port known (STRAIT_LISTEN may say port 0). A reader beside it prints
# that line and how to use it, then passes the rest of the output through.
announce() {
	rm -rf "$FIFO_DIR"
	if ! IFS= read -r line; then
		echo "run.sh: strait serve did not start" >&2
		return 1
	fi
	printf '%s\n' "$line"
	url=${line##* }
	case $url in
	http://*/taxii2/ | https://*/taxii2/) ;;
	*)
		echo "run.sh: unexpected first line from strait serve" >&2
		exec cat
		;;
	esac
	cat <<MSG

  discovery URL  $url
  admin token    $TOKEN
                 (kept in $TOKEN_FILE, readable only by you)

Paste into another terminal:

  curl -sS -H 'Accept: $MEDIA' -H 'Authorization: Bearer $TOKEN' '$url'
  curl -sS -H 'Accept: $MEDIA' -H 'Authorization: Bearer $TOKEN' '${url}root/collections/'

More in docs/TAXII.md. Ctrl-C stops the server.
MSG
	exec cat
}

set -- serve
if [ -n "${STRAIT_LISTEN:-}" ]; then
	set -- serve --listen "$STRAIT_LISTEN"
fi
FIFO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/strait-run.XXXXXX")
mkfifo "$FIFO_DIR/out"
# In the background the reader ignores Ctrl-C; it ends when the server's
# output does. The server replaces this shell, so Ctrl-C and SIGTERM reach
# it directly and its exit status is this script's.
announce <"$FIFO_DIR/out" &
exec "$STRAIT" "$@" >"$FIFO_DIR/out"

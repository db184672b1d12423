#!/bin/sh
# `make run`: creates a node home with the sample data on first use, then
# shows what the node holds and how to explore it.
set -eu
STRAIT=${1:-build/src/daemon/strait}
STRAIT_HOME=${STRAIT_HOME:-./strait-home}
export STRAIT_HOME

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

"$STRAIT" node show
cat <<MSG

Explore it (the home is $STRAIT_HOME; every command takes --help):
  $STRAIT collection list
  $STRAIT get $("$STRAIT" export --type intrusion-set 2>/dev/null |
	grep -o 'intrusion-set--[0-9a-f-]*' | head -n 1)
  $STRAIT export --type indicator -o indicators.json
  $STRAIT import your-bundle.json
MSG

#!/bin/sh
# Installs every Debian package that strait's build, tests and benchmarks
# need, and only those that are missing. Safe to run again and again.
set -eu

PKGS="build-essential cmake ninja-build pkg-config clang clang-format git \
libclang-rt-14-dev \
libsimdjson-dev libsqlite3-dev libsodium-dev nettle-dev libyaml-dev \
libcmocka-dev libmicrohttpd-dev libgnutls28-dev libcurl4-gnutls-dev \
libpcre2-dev libhyperscan-dev libicu-dev libcsv-dev \
python3 python3-pytest python3-requests time wrk openssl"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

echo "setup: installing$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing

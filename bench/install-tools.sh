#!/bin/sh
# Installs wrk, the load generator `npm run bench` drives, from Debian. Idempotent and non-interactive: when wrk is
# already installed it changes nothing and does not run apt-get.
set -eu

if [ "$(dpkg-query -W -f='${db:Status-Status}' wrk 2>/dev/null || true)" = "installed" ]; then
  echo "install-tools: wrk present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-tools: wrk is missing; run as root (e.g. sudo $0) to install it" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-tools: installing wrk"
apt-get update
apt-get install -y --no-install-recommends wrk

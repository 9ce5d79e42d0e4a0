#!/bin/sh
# Installs the real servers the harness compares against (conformance/targets/peers.ts), from Debian.
# Idempotent and non-interactive, for CI as root: on a machine that already has them all it changes nothing
# and does not even run apt-get. Keep PACKAGES equal to the union of the peers' debianPackages.
set -eu

PACKAGES="python3 python3-django gunicorn python3-waitress python3-werkzeug python3-cheroot"

missing=""
for package in $PACKAGES; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  if [ "$status" != "installed" ]; then
    missing="$missing $package"
  fi
done

if [ -z "$missing" ]; then
  echo "install-peers: all present:$(printf ' %s' $PACKAGES)"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-peers: missing:$missing; run as root (e.g. sudo $0) to install them" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-peers: installing:$missing"
if ! apt-get update; then
  echo "install-peers: apt-get update failed; cannot install:$missing" >&2
  exit 1
fi
# shellcheck disable=SC2086 # one word per package
if ! apt-get install -y --no-install-recommends $missing; then
  echo "install-peers: apt-get install failed for:$missing" >&2
  exit 1
fi
echo "install-peers: installed:$missing"

#!/bin/sh
# Installs the real servers the harness compares against (conformance/targets/peers.ts), and the tools the report
# tests use (Chromium for the HTML report, xmllint for the JUnit schema), from Debian.
# Idempotent and non-interactive, for CI as root: on a machine that already has them all it changes nothing
# and does not even run apt-get. Keep PACKAGES equal to the union of the peers' debianPackages.
set -eu

PACKAGES="python3 python3-django gunicorn python3-waitress python3-werkzeug python3-cheroot uwsgi uwsgi-plugin-python3 python3-twisted apache2 libapache2-mod-wsgi-py3 nginx lighttpd"
TOOLS="chromium libxml2-utils"

missing=""
for package in $PACKAGES $TOOLS; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  if [ "$status" != "installed" ]; then
    missing="$missing $package"
  fi
done

if [ -z "$missing" ]; then
  echo "install-peers: all present:$(printf ' %s' $PACKAGES $TOOLS)"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-peers: missing:$missing; run as root (e.g. sudo $0) to install them" >&2
  exit 1
fi

# Debian starts a web server's system service when it installs it (apache2, nginx, lighttpd on port 80). The matrix
# starts its own on loopback; a policy that forbids service starts, for the length of the install, keeps it that way.
POLICY=${H1SPEC_POLICY_RC_D:-/usr/sbin/policy-rc.d}
own_policy=""
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\n# Written by h1spec scripts/install-peers.sh while it installs; removed afterwards.\nexit 101\n' > "$POLICY"
  chmod 755 "$POLICY"
  own_policy=yes
  trap 'rm -f "$POLICY"' EXIT
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
echo "install-peers: installed:$missing${own_policy:+ (no service was started)}"

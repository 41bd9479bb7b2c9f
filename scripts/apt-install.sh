#!/bin/sh
# apt-install.sh PKG...: install the Debian packages that are missing.
# A no-op when every package is already installed.
#
# The packages are for tests (rsync, an sshd, Prometheus' promtool), not
# services: while apt-get runs, a policy-rc.d that answers 101 ("action
# forbidden") keeps invoke-rc.d and deb-systemd-invoke from starting the
# sshd or the Prometheus server the packages bring. An existing policy-rc.d
# is left as it is.
set -eu
missing=""
for p in "$@"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
policy=${POLICY_RC_D:-/usr/sbin/policy-rc.d}
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# scripts/apt-install.sh of sersync2: no service starts while it installs test packages.\nexit 101\n' |
		$SUDO tee "$policy" >/dev/null
	$SUDO chmod 755 "$policy"
	trap '$SUDO rm -f "$policy"' EXIT
fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing

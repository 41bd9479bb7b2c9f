#!/bin/sh
# sersync2 .deb prerm: a removal stops every instance (an upgrade keeps
# them running; postinst restarts them on the new binary).
set -e
command -v systemctl >/dev/null 2>&1 || exit 0
if [ "$1" = remove ]; then
	systemctl stop sersync2.service 'sersync2@*.service' >/dev/null 2>&1 || true
fi
exit 0

#!/bin/sh
# sersync2 .deb postinst: systemd learns of the units; on an upgrade the
# running instances restart on the new binary. A new install starts
# nothing: /etc/sersync/confxml.xml must be edited first.
set -e
command -v systemctl >/dev/null 2>&1 || exit 0
if [ "$1" = configure ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
	if [ -n "$2" ]; then
		systemctl try-restart sersync2.service 'sersync2@*.service' >/dev/null 2>&1 || true
	fi
fi
exit 0

# sersync2 RPM %postun ($1: 0 after removal, 1 after upgrade): systemd
# forgets removed units; after an upgrade the running instances restart on
# the new binary.
if command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload >/dev/null 2>&1 || :
	if [ "$1" -ge 1 ]; then
		systemctl try-restart sersync2.service 'sersync2@*.service' >/dev/null 2>&1 || :
	fi
fi

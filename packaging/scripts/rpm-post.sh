# sersync2 RPM %post ($1: 1 on install, 2 on upgrade): systemd learns of
# the units. A new install starts nothing: /etc/sersync/confxml.xml must
# be edited first.
if command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload >/dev/null 2>&1 || :
fi

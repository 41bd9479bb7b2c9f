# sersync2 RPM %preun ($1: 0 on removal, 1 on upgrade): a removal stops
# every instance; an upgrade keeps them running until %postun.
if [ "$1" -eq 0 ] && command -v systemctl >/dev/null 2>&1; then
	systemctl stop sersync2.service 'sersync2@*.service' >/dev/null 2>&1 || :
fi

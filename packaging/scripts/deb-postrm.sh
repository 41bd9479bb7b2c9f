#!/bin/sh
# sersync2 .deb postrm: systemd forgets the removed units.
set -e
command -v systemctl >/dev/null 2>&1 || exit 0
case "$1" in
remove|purge) systemctl daemon-reload >/dev/null 2>&1 || true ;;
esac
exit 0

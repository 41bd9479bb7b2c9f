#sersync2 op=update root="/data" remote="h::m" path="a\nb\xff" dir=true replaced=true errno=23 failures=2 first=2026-11-26T10:00:00Z last=2026-11-26T10:00:00.5Z future=1
cd /data && true

#sersync2 op=full root="/" remote="[fd00::2]::m"

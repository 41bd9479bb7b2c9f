#!/bin/sh
# sersync2 failLog: changes not yet on a remote, one entry each.
# sersync2 replays the entries itself and removes each one once it is synced.
# Run by hand with: sh FILE. Each entry is one rsync command; file names
# are quoted (inside the printf format) and never run. #errno is rsync's
# exit code of the latest failure (sersync2 2.5.4 wrote the wait status).

#errno -1: no rsync exit code (rsync was killed by a signal or did not run); 2 failures since 2026-11-26T10:01:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="a.txt" errno=-1 failures=2 first=2026-11-26T10:01:00Z last=2026-11-26T10:03:00Z
cd /data && printf 'a.txt\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:01:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="d1/d2/f.txt" errno=10 failures=1 first=2026-11-26T10:01:00Z last=2026-11-26T10:01:00Z
cd /data && printf 'd1/d2/f.txt\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 23: rsync exit code (partial transfer due to error); 1 failure since 2026-11-26T10:02:00Z
#sersync2 op=remove root="/data" remote="10.0.0.2::www" path="rmme" dir=true errno=23 failures=1 first=2026-11-26T10:02:00Z last=2026-11-26T10:02:00Z
cd /data && printf '+ /rmme\000+ /rmme/***\000' | rsync -artuz -R --sockopts=TCP_NODELAY --delete ./ --from0 --include-from=- '--exclude=*' 10.0.0.2::www

#errno 23: rsync exit code (partial transfer due to error); 1 failure since 2026-11-26T10:02:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="swapped" dir=true replaced=true errno=23 failures=1 first=2026-11-26T10:02:00Z last=2026-11-26T10:02:00Z
cd /data && printf '+ /swapped\000+ /swapped/***\000' | rsync -artuz -R --sockopts=TCP_NODELAY --delete ./ --from0 --include-from=- '--exclude=*' 10.0.0.2::www

#errno 5: rsync exit code (error starting client-server protocol); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=full root="/data" remote="10.0.0.3::www" errno=5 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && rsync -artuz -R --delete ./ 10.0.0.3::www


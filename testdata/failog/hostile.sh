#!/bin/sh
# sersync2 failLog: changes not yet on a remote, one entry each.
# sersync2 replays the entries itself and removes each one once it is synced.
# Run by hand with: sh FILE. Each entry is one rsync command; file names
# are quoted (inside the printf format) and never run. #errno is rsync's
# exit code of the latest failure (sersync2 2.5.4 wrote the wait status).

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="- minus" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf '\055 minus\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="--exclude=foo" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf '\055-exclude=foo\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="-dash" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf '\055dash\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/ lead" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/ lead\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/!" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/!\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/#hash" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/#hash\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/***" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/***\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/+ plus" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/+ plus\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/- minus" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/- minus\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/--exclude=foo" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/--exclude=foo\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/-dash" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/-dash\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/;semi" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/;semi\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/<in>out" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/<in>out\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/a**b" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/a**b\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/a\\*b" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/a\\*b\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/amp&pipe|" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/amp&pipe|\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/back\\slash" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/back\\slash\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/bq`touch PWNED`x" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/bq`touch PWNED`x\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/br[1]" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/br[1]\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/cr\rname" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/cr\015name\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/dol$lar" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/dol$lar\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/dq$(touch PWNED)x" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/dq$(touch PWNED)x\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/nl\nline" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/nl\012line\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/pct%s" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/pct%%s\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/q?" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/q?\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/quo\"te" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/quo"te\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/quo'te" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/quo\047te\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/semi;colon" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/semi;colon\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/sp ace" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/sp ace\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/star*" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/star*\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/tab\there" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/tab\011here\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/trail " errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/trail \000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/{a,b}" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/{a,b}\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/~tilde" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/~tilde\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/émoji-日本" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/émoji-日本\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:04:00Z
#sersync2 op=update root="/data" remote="10.0.0.2::www" path="h/\xff\xfe" errno=10 failures=1 first=2026-11-26T10:04:00Z last=2026-11-26T10:04:00Z
cd /data && printf 'h/\377\376\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www


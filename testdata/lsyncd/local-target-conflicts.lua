-- Local targets confxml refuses: one inside its own source (every copy
-- would be seen and copied again), one inside another sync{}'s source
-- named only later, and two sources mirrored into one directory (each
-- full sync would delete the other's files). Each is left out with a
-- note; the backup of /srv/www to /mnt/backup/www stays.
sync { default.rsync, source = "/srv/www", target = "/mnt/backup/www" }
sync { default.rsync, source = "/srv/www", target = "/srv/www/.backup" }
sync { default.rsync, source = "/srv/img", target = "/srv/logs/img" }
sync { default.direct, source = "/srv/logs", target = "/mnt/backup/www/" }

settings { logfile = "/var/log/lsyncd.log" }

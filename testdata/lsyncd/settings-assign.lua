-- The lsyncd 2.0 form of settings (a table assignment), with nodaemon,
-- a pid file, syslog and inotifyMode.
settings = {
    nodaemon    = true,
    pidfile     = "/run/lsyncd.pid",
    logfacility = "daemon",
    inotifyMode = "CloseWrite or Modify",
}

sync {
    default.rsync,
    source = "/etc/app/",
    target = "config-mirror::etc-app",
    rsync  = { archive = true, timeout = 30 },
}

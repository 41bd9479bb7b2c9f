-- A mirror that never deletes (an ssh target with its own key, as users
-- post it), converted completely.
settings {
  logfile    = "/var/log/lsyncd/lsyncd.log",
  statusFile = "/var/log/lsyncd/lsyncd.stat",
  maxDelays  = 30
}
sync {
  default.rsync,
  source = "/home/user/",
  target = "user@server.example:/home/user/",
  delay  = 5,
  delete = false,
  rsync  = {
    compress = true,
    acls     = true,
    owner    = true,
    group    = true,
    perms    = true,
    times    = true,
    rsh      = "/usr/bin/ssh -i /root/.ssh/lsyncd",
  }
}

-- Constructs without a sersync2 equivalent: each is reported with its
-- line and the exit status is 1.
settings {
  statusFile = "/tmp/lsyncd.stat",
  insist = true,
  statusIntervall = 1,
}

sync {
  default.rsync,
  source = "/srv/app",
  target = "mirror::app",
  init = false,
  onCreate = function(event)
    spawn(event, "/usr/local/bin/notify", event.pathname)
  end,
}

local script = {
  delay = 1,
  maxProcesses = 1,
  onModify = "/opt/dosync.sh m",
  onStartup = "/opt/dosync.sh s",
}
sync { script, source = "/srv/scripted" }

sync {
  default.rsync,
  source = "/srv/app",
  target = "mirror2::app",
  action = function(inlet)
    local ev = inlet.getEvent()
    inlet.discardEvent(ev)
  end,
}

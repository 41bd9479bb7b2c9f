-- rsync daemons on a custom port, the user and module joined by string
-- concatenation in a loop; everything converts.
settings {
    logfile      = "/var/log/lsyncd/lsyncd.log",
    statusFile   = "/var/log/lsyncd/lsyncd.status",
    maxProcesses = 4,
}

local user   = "backup"
local module = "www"
local hosts  = { "10.0.0.11", "10.0.0.12" }

for i = 1, #hosts do
    sync {
        default.rsync,
        source  = "/var/www/",
        target  = user .. "@" .. hosts[i] .. "::" .. module,
        exclude = { "*.tmp", "*.swp", "/cache/", "logs/*.log", ".git" },
        rsync   = {
            archive       = true,
            compress      = true,
            password_file = "/etc/rsyncd.pass",
            _extra        = { "--port=8730", "--bwlimit=20000" },
        },
    }
end

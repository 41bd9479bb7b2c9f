-- The manual's default.rsync example (Config Layer 4): an ssh target,
-- a longer delay and a different rsync binary.
sync {
    default.rsync,
    source    = "/home/user/src/",
    target    = "foohost.com:~/trg/",
    delay     = 15,
    rsync     = {
        binary   = "/usr/local/bin/rsync",
        archive  = true,
        compress = true
    }
}

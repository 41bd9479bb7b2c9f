-- Local directory targets: default.rsync to a mounted disk and
-- default.direct between two local trees.
sync {
    default.rsync,
    source = "/srv/www",
    target = "/mnt/backup/www",
}

sync {
    default.direct,
    source = "/srv/data/",
    target = "/mnt/backup/data/",
    exclude = { "*.part" },
}

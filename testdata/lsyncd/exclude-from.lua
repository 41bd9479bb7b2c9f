-- excludeFrom with comment and blank lines, and a filter list of
-- exclude rules; an include rule has no <filter> equivalent.
sync {
    default.rsync,
    source      = "/srv/repo",
    target      = "backup::repo",
    excludeFrom = "exclude-list.txt",
    filter      = { "- *.o", "- /build/", "+ keep.o" },
}

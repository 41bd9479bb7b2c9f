sync {
    default.rsync,
    source = "/srv"
    target = "h::m",
}

-- The four delete modes on four sources; each source becomes its own
-- <localpath>, but confxml has one <delete> for all.
sync { default.rsync, source = "/data/a", target = "h1::a", delete = true }
sync { default.rsync, source = "/data/b", target = "h1::b", delete = false }
sync { default.rsync, source = "/data/c", target = "h1::c", delete = "startup" }
sync { default.rsync, source = "/data/d", target = "h1::d", delete = "running" }

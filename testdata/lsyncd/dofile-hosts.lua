-- A host list shared between configurations, read with dofile, and a
-- parent table the syncs inherit from (Layer 1 inheritance).
local hosts = dofile("hosts.inc.lua")

local base = {
    default.rsync,
    delay   = 2,
    exclude = { "node_modules/", "**/cache/**", "*~" },
    rsync   = { archive = true, compress = true },
}

for _, h in ipairs(hosts) do
    sync { base, source = "/srv/site", target = "deploy@" .. h .. ":/srv/site" }
end

-- Included by dofile-hosts.lua.
return { "web1.example", "web2.example" }

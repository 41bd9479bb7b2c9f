-- The FAQ's one source to several targets, written as a loop over a
-- host list.
targets = {
    'targethost1:/targetdir',
    'targethost2:/targetdir',
    'targethost3:/targetdir',
}

for _, target in ipairs( targets )
do
    sync{ default.rsync, source='/sourcedir', target=target }
end

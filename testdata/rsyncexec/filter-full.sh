cd /data && printf '\055 /cache/\000- /a/.svn/\000- /x.svn\000- /br\\[1].svn\000- /nl\012.svn\000' | rsync -artuz -R --delete ./ 10.0.0.2::www '--exclude=*.php' --from0 --exclude-from=-

cd /data && printf '+ /d1/\000+ /d1/d2/\000+ /d1/d2/old.txt\000+ /rmme\000+ /rmme/***\000' | rsync -artuz -R --delete ./ --from0 --include-from=- '--exclude=*' /mnt/backup/www

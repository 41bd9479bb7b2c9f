cd /data && printf 'a.txt\000d1/d2/f.txt\000newdir\000' | rsync -artuz -R --from0 --files-from=- --ignore-missing-args ./ /mnt/backup/www

cd /data && rsync -artuz -R --delete ./ /mnt/backup/www

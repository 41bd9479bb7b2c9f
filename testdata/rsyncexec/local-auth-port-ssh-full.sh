cd /data && rsync -artuz -R --delete --max-delete=10 ./ --timeout=100 /mnt/backup/www

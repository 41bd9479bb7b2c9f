cd /data && rsync -artuz -R --delete ./ -e ssh --port=874 --timeout=100 rsync_backup@10.0.0.2:/srv/www

cd /data && rsync -artuz -R ./ -e ssh rsync_backup@10.0.0.2:/srv/www

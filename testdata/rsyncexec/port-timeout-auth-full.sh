cd /data && rsync -artuz -R --delete ./ --port=874 --timeout=100 rsync_backup@10.0.0.2::www --password-file=/etc/rsync.password

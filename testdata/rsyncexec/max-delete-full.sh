cd /data && rsync -artuz -R --delete --max-delete=10 ./ rsync_backup@10.0.0.2::www --password-file=/etc/rsync.password

cd /data && printf 'a.txt\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 'rsync_backup@[fd00::2]::www' --password-file=/etc/rsync.password

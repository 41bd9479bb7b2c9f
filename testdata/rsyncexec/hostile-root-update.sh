cd '/srv/it'\''s a "root" $(x)' && printf 'a.txt\000' | rsync -artuz -R --from0 --files-from=- --ignore-missing-args ./ rsync_backup@10.0.0.2::www --password-file=/etc/rsync.password

cd /data && printf 'a.txt\000' | rsync -artuz -R --from0 --files-from=- --ignore-missing-args ./ '/mnt/it'\''s a "backup" $(x):1'

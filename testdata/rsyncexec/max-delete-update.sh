cd /data && printf 'a.txt\000' | rsync -artuz -R --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

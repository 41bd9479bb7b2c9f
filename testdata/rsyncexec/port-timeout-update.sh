cd /data && printf 'a.txt\000d1/d2/f.txt\000newdir\000' | rsync -artuz -R --sockopts=TCP_NODELAY --port=874 --timeout=100 --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

cd /data && printf 'a.txt\000d1/d2/f.txt\000newdir\000' | rsync -az --bwlimit 100 -R -r --sockopts=TCP_NODELAY --from0 --files-from=- --ignore-missing-args ./ 10.0.0.2::www

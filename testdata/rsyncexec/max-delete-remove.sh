cd /data && printf '+ /a.txt\000' | rsync -artuz -R --sockopts=TCP_NODELAY --delete ./ --from0 --include-from=- '--exclude=*' 10.0.0.2::www

cd /data && printf '+ /moveout.txt\000' | rsync -artuz -R --sockopts=TCP_NODELAY ./ --from0 --include-from=- '--exclude=*' 10.0.0.2::www

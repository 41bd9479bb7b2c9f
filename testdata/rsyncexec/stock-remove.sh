cd /data && printf '+ /d1/\000+ /d1/d2/\000+ /d1/d2/old.txt\000+ /rmme\000+ /rmme/***\000' | rsync -artuz -R --sockopts=TCP_NODELAY --delete ./ --from0 --include-from=- '--exclude=*' 10.0.0.2::www

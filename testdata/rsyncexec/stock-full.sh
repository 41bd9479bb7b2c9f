cd /data && rsync -artuz -R --delete ./ 10.0.0.2::www

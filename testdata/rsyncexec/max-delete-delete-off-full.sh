cd /data && rsync -artuz -R ./ 10.0.0.2::www

cd /data && rsync -artuz -R --delete ./ -e ssh 10.0.0.2:/srv/www

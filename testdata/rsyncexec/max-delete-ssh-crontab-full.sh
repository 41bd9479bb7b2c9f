cd /data && rsync -artuz -R --delete --max-delete=10 ./ -e ssh 10.0.0.2:/srv/www '--exclude=*.php'

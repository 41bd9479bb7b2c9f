cd /data && rsync -artuz -R --delete ./ -e 'ssh -p 2222 -i /root/.ssh/mirror' 10.0.0.2:/srv/www

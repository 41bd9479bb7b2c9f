cd /data && rsync -artuz -R --delete ./ 10.0.0.2::www '--exclude=*.php' '--exclude=info/*' '--exclude=space d*' --exclude=--weird

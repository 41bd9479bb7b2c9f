ssh 10.0.0.2 'cd -- /srv/www || exit 1; mv -T -- a.txt b.txt; echo $?; mkdir -p -- d1 && mv -T -- d1/old d1/new; echo $?; mv -T -- olddir newdir; echo $?'

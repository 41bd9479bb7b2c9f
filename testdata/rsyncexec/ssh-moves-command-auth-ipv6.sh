ssh -p 2222 -i '/root/.ssh/mirror key' -o 'ProxyCommand=nc %h %p' -l rsync_backup fd00::2 'cd -- /srv/www || exit 1; mv -T -- a.txt b.txt; echo $?'

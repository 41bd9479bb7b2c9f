ssh 10.0.0.2 $'cd -- \'/srv/it\'\\\'\'s a "root" $(touch PWNED)\n\' || exit 1; mv -T -- a.txt b.txt; echo $?'

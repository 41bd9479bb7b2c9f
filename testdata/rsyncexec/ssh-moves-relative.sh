ssh 10.0.0.2 'cd -- ./-backup || exit 1; mv -T -- a.txt b.txt; echo $?'

#errno 2560
cd /data && rsync -artuz -R "./r10.txt" 10.0.0.2::www >/dev/null 2>&1 

#errno 6144
cd /data && rsync -artuz -R "./r24.txt" 10.0.0.2::www >/dev/null 2>&1 

cd /data && rsync -artuz -R "./overflow.txt" 10.0.0.2::www >/dev/null 2>&1 

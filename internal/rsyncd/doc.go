// Package rsyncd starts a real rsync daemon (rsync --daemon --no-detach) on
// 127.0.0.1 and a free port, for tests and demos: modules under a given
// directory, optional user/password authentication with a secrets file and
// a matching client-side password file, a log file in the directory.
//
// It does not configure anything beyond what replication tests need (no
// chroot, no hosts allow/deny, no daemon-side filters), and it never binds
// to anything but the loopback address. Start takes a directory and returns
// errors so that demo programs can use it; StartT is the testing front end
// that registers the cleanup. Every process it starts is killed and waited
// for by Close.
package rsyncd

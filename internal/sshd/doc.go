// Package sshd starts a real OpenSSH server on 127.0.0.1 and a free port,
// for tests that push with rsync over ssh: throw-away host and client keys
// made with ssh-keygen in a given directory, public-key login for the
// current user (root), no PAM, no passwords.
//
// It needs root and /usr/sbin/sshd; without them Start returns an error
// wrapping ErrUnavailable and StartT skips the test with the reason (or
// fails it when SERSYNC_TEST_NO_SKIP=1). It never listens on anything but
// the loopback address and does not touch the system's ssh configuration
// or keys (it only creates /run/sshd, the privilege-separation directory
// sshd insists on). Close kills and waits for the server.
package sshd

// Package sdnotify tells systemd about the service's state (READY=1,
// STOPPING=1) when it started the process with Type=notify, and does
// nothing otherwise.
package sdnotify

import (
	"net"
	"os"
)

// Notify sends state (e.g. "READY=1") to systemd when it started us
// with Type=notify; without NOTIFY_SOCKET it does nothing.
func Notify(state string) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	if addr[0] == '@' { // abstract socket
		addr = "\x00" + addr[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}

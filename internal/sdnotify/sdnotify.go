// Package sdnotify tells systemd about the service's state (READY=1,
// STOPPING=1) when it started the process with Type=notify, and does
// nothing otherwise.
package sdnotify

import (
	"context"
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

// Ready tells systemd that the service is ready, and that it is stopping
// once ctx ends. The error is READY=1's; STOPPING=1 is sent as best it
// can be, for nobody is left to hear of a failure then.
func Ready(ctx context.Context) error {
	err := Notify("READY=1")
	context.AfterFunc(ctx, func() { _ = Notify("STOPPING=1") })
	return err
}

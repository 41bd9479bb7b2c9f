package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"time"

	"github.com/sersync-go/sersync2/status"
)

// pendingAsk is how many paths --pending asks a running instance for,
// over all of a remote's queues.
const pendingAsk = 1000

// pendingTimeout bounds the request to a running instance's status
// server.
const pendingTimeout = 10 * time.Second

// printPending is --pending: it reads the pending paths of the running
// instance from its status server or its status file and prints one line
// per path, oldest first per remote: age, attempts, remote, path (shown
// with status.ShowPath: quoted when not printable). Remarks (a full sync
// pending, paths not listed) go to stderr.
func printPending(stdout, stderr io.Writer, o *options, now time.Time) int {
	var (
		r   status.Report
		err error
	)
	if o.statusAddr != "" {
		token := ""
		if o.statusAuthFile != "" {
			if token, err = status.ReadToken(o.statusAuthFile); err != nil {
				fmt.Fprintf(stderr, "sersync2: --pending: %v\n", err)
				return exitUsage
			}
		}
		r, err = pendingFromServer(o.statusAddr, token)
	} else {
		r, err = pendingFromFile(o.statusFile, o.statusFileEvery, now)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sersync2: --pending: %v\n", err)
		if errors.Is(err, errBadToken) {
			return exitUsage
		}
		return exitHost
	}
	for _, rr := range r.Remotes {
		remote := rr.Remote
		if remote == "" {
			remote = "(plugin)"
		}
		for _, p := range rr.PendingPaths {
			age := now.Sub(p.Since).Round(100 * time.Millisecond).Seconds()
			fmt.Fprintf(stdout, "%.1fs\t%d\t%s\t%s\n", max(age, 0), p.Attempts, remote, status.ShowPath(path.Join(rr.Root, p.Name())))
		}
		if rr.FullPending {
			fmt.Fprintf(stderr, "%s -> %s: a full sync is pending: it covers every path, listed or not\n", rr.Root, remote)
		}
		if more := rr.Pending + rr.InFlight - len(rr.PendingPaths); more > 0 {
			fmt.Fprintf(stderr, "%s -> %s: %d more pending paths not listed\n", rr.Root, remote, more)
		}
	}
	return exitOK
}

// errBadToken: the status server refused the token given.
var errBadToken = errors.New("the status server refused the token of --status-auth-file")

// pendingFromServer asks the status server at addr for the pending
// paths, with token as bearer token when not "".
func pendingFromServer(addr, token string) (status.Report, error) {
	var r status.Report
	ctx, cancel := context.WithTimeout(context.Background(), pendingTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/status?pending=%d", addr, pendingAsk), nil)
	if err != nil {
		return r, fmt.Errorf("status address %s: %w", addr, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return r, fmt.Errorf("no sersync2 answers at %s: %w", addr, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return r, fmt.Errorf("%s: %w", addr, errBadToken)
	case resp.StatusCode != http.StatusOK:
		return r, fmt.Errorf("%s/status: %s", addr, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return r, fmt.Errorf("%s/status: %w", addr, err)
	}
	return r, nil
}

// pendingFromFile reads the pending paths from the status file. A file
// not rewritten for three of its periods (at least 30 s) is no running
// instance's.
func pendingFromFile(file string, every time.Duration, now time.Time) (status.Report, error) {
	f, err := os.Open(file)
	if err != nil {
		return status.Report{}, fmt.Errorf("no status file: %w", err)
	}
	defer f.Close()
	r, err := status.ReadPending(f)
	if err != nil {
		return r, err
	}
	if every <= 0 {
		every = status.DefaultFileEvery
	}
	if age := now.Sub(r.Time); age > max(3*every, 30*time.Second) {
		return r, fmt.Errorf("%s was last written %s ago: no running sersync2 writes it", file, age.Round(time.Second))
	}
	return r, nil
}

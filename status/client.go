package status

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
)

// askPending is how many paths FetchPending asks a running instance for,
// over all of a remote's queues.
const askPending = 1000

// askTimeout bounds the request to a running instance's status server.
const askTimeout = 10 * time.Second

// ErrTokenRefused: the status server refused the token given. The text
// names the flag the token came from: it is shown to the operator as is.
var ErrTokenRefused = errors.New("the status server refused the token of --status-auth-file")

// FetchPending asks the status server of a running instance at addr for
// its pending paths, with token as bearer token when not "".
func FetchPending(addr, token string) (Report, error) {
	var r Report
	ctx, cancel := context.WithTimeout(context.Background(), askTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/status?pending=%d", addr, askPending), nil)
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
		return r, fmt.Errorf("%s: %w", addr, ErrTokenRefused)
	case resp.StatusCode != http.StatusOK:
		return r, fmt.Errorf("%s/status: %s", addr, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return r, fmt.Errorf("%s/status: %w", addr, err)
	}
	return r, nil
}

// ReadPendingFile reads the pending paths from the status file a running
// instance rewrites every every (<= 0: DefaultFileEvery). A file not
// rewritten for three of its periods (at least 30 s) at now is no running
// instance's: it is refused.
func ReadPendingFile(file string, every time.Duration, now time.Time) (Report, error) {
	f, err := os.Open(file)
	if err != nil {
		return Report{}, fmt.Errorf("no status file: %w", err)
	}
	defer f.Close()
	r, err := ReadPending(f)
	if err != nil {
		return r, err
	}
	if every <= 0 {
		every = DefaultFileEvery
	}
	if age := now.Sub(r.Time); age > max(3*every, 30*time.Second) {
		return r, fmt.Errorf("%s was last written %s ago: no running sersync2 writes it", file, age.Round(time.Second))
	}
	return r, nil
}

// WritePending writes the pending paths of r to out, one line per path,
// oldest first per remote: age at now, attempts, remote, path (ShowPath).
// Remarks (a full sync pending, paths not listed) go to remarks.
func WritePending(out, remarks io.Writer, r Report, now time.Time) {
	for _, rr := range r.Remotes {
		remote := rr.Remote
		if remote == "" {
			remote = "(plugin)"
		}
		for _, p := range rr.PendingPaths {
			age := now.Sub(p.Since).Round(100 * time.Millisecond).Seconds()
			fmt.Fprintf(out, "%.1fs\t%d\t%s\t%s\n", max(age, 0), p.Attempts, remote, ShowPath(path.Join(rr.Root, p.Name())))
		}
		if rr.FullPending {
			fmt.Fprintf(remarks, "%s -> %s: a full sync is pending: it covers every path, listed or not\n", rr.Root, remote)
		}
		if more := rr.Pending + rr.InFlight - len(rr.PendingPaths); more > 0 {
			fmt.Fprintf(remarks, "%s -> %s: %d more pending paths not listed\n", rr.Root, remote, more)
		}
	}
}

package status

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

var (
	// ErrTokenFileMode is returned by ReadToken for a token file that
	// others may read.
	ErrTokenFileMode = errors.New("status: token file is readable by others")
	// ErrBadToken is returned by ReadToken for an empty token, one holding
	// spaces or control characters, or a file that is not a small regular
	// file.
	ErrBadToken = errors.New("status: not a usable bearer token")
)

// maxTokenFile bounds what ReadToken reads: a token is a line, not a file.
const maxTokenFile = 4 << 10

// ReadToken reads the bearer token of --status-auth-file: the file's
// content with surrounding white space removed, as Prometheus reads an
// authorization credentials_file, so one file serves both. The file must
// not be readable by others (mode o-r): it is refused, not merely warned
// about, since a readable token protects nothing.
func ReadToken(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("status: token file: %w", err)
	}
	switch {
	case !fi.Mode().IsRegular() || fi.Size() > maxTokenFile:
		return "", fmt.Errorf("%w: %s is not a regular file of at most %d bytes", ErrBadToken, path, maxTokenFile)
	case fi.Mode().Perm()&0o007 != 0:
		return "", fmt.Errorf("%w: %s has mode %04o (chmod o-rwx %s)", ErrTokenFileMode, path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("status: token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" || strings.IndexFunc(tok, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return "", fmt.Errorf("%w: %s is empty or holds spaces or control characters", ErrBadToken, path)
	}
	return tok, nil
}

// guard admits a request to h when its Host names this machine's loopback
// interface (only if loopbackOnly) and it carries the bearer token (only
// if tokenSum is not nil).
//
// A browser on this machine may read any page of a loopback server whose
// name an attacker's DNS rebinds to 127.0.0.1; its requests then carry
// the attacker's host name, which is refused with 421. The token is
// compared as a SHA-256 digest in constant time, so neither its bytes nor
// its length show in the response time.
func guard(h http.Handler, loopbackOnly bool, tokenSum *[sha256.Size]byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if loopbackOnly && !loopbackHost(r.Host) {
			http.Error(w, "421 misdirected request: this server answers to localhost and loopback addresses only", http.StatusMisdirectedRequest)
			return
		}
		if tokenSum != nil {
			tok, ok := bearer(r.Header.Get("Authorization"))
			sum := sha256.Sum256([]byte(tok))
			if subtle.ConstantTimeCompare(sum[:], tokenSum[:]) != 1 || !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="sersync2"`)
				http.Error(w, "401 unauthorized: send Authorization: Bearer <token of --status-auth-file>", http.StatusUnauthorized)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// bearer returns the token of an "Authorization: Bearer TOKEN" header
// value; the scheme is case-insensitive (RFC 9110).
func bearer(v string) (string, bool) {
	scheme, tok, ok := strings.Cut(v, " ")
	return tok, ok && strings.EqualFold(scheme, "Bearer")
}

// loopbackHost reports whether a Host header (with or without a port)
// is localhost or a loopback address literal.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackAddr reports whether a listener's address is a loopback one.
func loopbackAddr(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

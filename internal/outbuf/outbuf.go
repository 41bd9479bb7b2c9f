// Package outbuf holds the concurrent output writers: Writer serialises
// the writes of several goroutines to one io.Writer (the original's stdout
// lines of the engine, its debug output and cmd/sersync2), and Buffer is a
// byte buffer that child processes, loggers or goroutines write while
// another goroutine reads it (tests, the bench harness).
package outbuf

import (
	"bytes"
	"io"
	"sync"
)

// Writer serialises writes to w, so that lines of several goroutines never
// interleave. The zero value is not usable: use NewWriter.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

func (l *Writer) Write(p []byte) (int, error) {
	return l.locked(func() (int, error) { return l.w.Write(p) })
}

func (l *Writer) locked(f func() (int, error)) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return f()
}

// Buffer is a bytes.Buffer safe for concurrent writers and readers. The
// zero value is an empty buffer.
type Buffer struct {
	lw Writer
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	return l.lw.locked(func() (int, error) { return l.b.Write(p) })
}

// String returns everything written so far.
func (l *Buffer) String() string {
	var s string
	_, _ = l.lw.locked(func() (int, error) { s = l.b.String(); return 0, nil })
	return s
}

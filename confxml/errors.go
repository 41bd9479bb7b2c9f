package confxml

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinels wrapped by the errors Load, LoadPlugin and ValidatePlugin return.
var (
	// ErrUnknownPlugin: a plugin name other than command, socket or
	// refreshCDN (http included: it was compiled out of the original too).
	ErrUnknownPlugin = errors.New("confxml: unknown plugin")
	// ErrPluginBlockMissing: the <head>-level <plugin name=…> block of the
	// selected plugin does not exist.
	ErrPluginBlockMissing = errors.New("confxml: plugin block missing")
	// ErrHost: the file is valid but this machine is not ready for it (a
	// watch directory or the password file is missing or unusable).
	ErrHost = errors.New("confxml: not ready on this host")
)

// OnlyHostErrors reports whether err (as returned by Load) holds only
// problems of the machine (ErrHost), none of the file itself.
func OnlyHostErrors(err error) bool {
	if err == nil {
		return false
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !errors.Is(e, ErrHost) {
				return false
			}
		}
		return true
	}
	return errors.Is(err, ErrHost)
}

// Texts of ParseError.Msg that the original printed word for word.
const (
	MsgFileNotFound     = "Error: File not found"
	MsgNoXMLData        = "Error: No XML data"
	MsgFirstTagNotFound = "Error: First Tag not found"
)

// ParseError is a problem with the file itself rather than with a value in
// it: the file cannot be read, is empty, is not well-formed XML, or has no
// <head> root element. The original printed these as
//
//	XML Parsing error inside file 'NAME'.
//	MSG
//	At line L, column C.
//
// and exited 255; Report returns exactly that text.
type ParseError struct {
	File string
	// Line and Col locate the problem, 1-based; both are 0 when the problem
	// has no position (file not found, no data, no <head>).
	Line, Col int
	// Msg is the second line of the report, e.g. "Error: File not found"
	// (MsgFileNotFound) or "Error: element <inotify> opened at line 9,
	// column 5 is never closed".
	Msg string
	// Err is the underlying cause when there is one (the *fs.PathError of a
	// file that cannot be read), for errors.Is.
	Err error
}

func (e *ParseError) Error() string {
	s := "confxml: " + e.File + ":" + strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Col) + ": " + e.Msg
	if e.Err != nil {
		s += " (" + e.Err.Error() + ")"
	}
	return s
}

func (e *ParseError) Unwrap() error { return e.Err }

// Report returns the message in the original's form, newline-terminated,
// including the extra "First Tag should be 'head'." line for a missing root.
func (e *ParseError) Report() string {
	s := fmt.Sprintf("XML Parsing error inside file '%s'.\n%s\nAt line %d, column %d.\n", e.File, e.Msg, e.Line, e.Col)
	if e.Msg == MsgFirstTagNotFound {
		s += "First Tag should be 'head'.\n"
	}
	return s
}

// reasonError is an error whose text is a full sentence of its own but that
// still matches a sentinel with errors.Is, so the sentinel's "confxml: "
// prefix does not land in the middle of a message.
type reasonError struct {
	msg      string
	sentinel error
}

func (e *reasonError) Error() string { return e.msg }
func (e *reasonError) Unwrap() error { return e.sentinel }

func because(sentinel error, format string, args ...any) error {
	return &reasonError{msg: fmt.Sprintf(format, args...), sentinel: sentinel}
}

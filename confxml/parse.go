package confxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// maxFileSize bounds what Load reads: a configuration is a few kilobytes,
// anything this large is a wrong path (/dev/zero, a log file).
const maxFileSize = 16 << 20

// readFile reads the configuration file, reporting problems in the
// original's ParseError form.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &ParseError{File: path, Msg: MsgFileNotFound, Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, &ParseError{File: path, Msg: MsgFileNotFound, Err: err}
	}
	if len(data) > maxFileSize {
		return nil, &ParseError{File: path, Msg: fmt.Sprintf("Error: file larger than %d bytes", maxFileSize)}
	}
	return data, nil
}

// Invalid UTF-8 bytes are carried through encoding/xml (which rejects them)
// as code points of the last private-use plane, U+10FF00 + byte, and turned
// back into the raw bytes afterwards. The original never transcoded
// anything: a Latin-1 or otherwise non-UTF-8 path in a value must come out
// as the same bytes.
const (
	escBase = 0x10FF00
	escLow  = escBase + 0x80
	escHigh = escBase + 0xFF
)

// msgReservedRune is the ParseError text for a file that holds one of the
// escape runes itself.
const msgReservedRune = "Error: the file contains characters U+10FF80..U+10FFFF, which are reserved"

// escapeInvalid returns data with every byte that is not part of a valid
// UTF-8 sequence replaced by its escape rune. It fails (ok false) when the
// file already holds one of the escape runes, so the mapping is always
// reversible.
func escapeInvalid(data []byte) (esc []byte, ok bool) {
	if utf8.Valid(data) {
		return data, !bytes.ContainsFunc(data, isEscRune)
	}
	out := make([]byte, 0, len(data)+16)
	for len(data) > 0 {
		r, n := utf8.DecodeRune(data)
		switch {
		case r == utf8.RuneError && n == 1:
			out = utf8.AppendRune(out, rune(escBase+int(data[0])))
		case isEscRune(r):
			return nil, false
		default:
			out = append(out, data[:n]...)
		}
		data = data[n:]
	}
	return out, true
}

func isEscRune(r rune) bool { return r >= escLow && r <= escHigh }

// unescape turns escape runes back into the raw bytes they stand for.
func unescape(s string) string {
	if !strings.ContainsFunc(s, isEscRune) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isEscRune(r) {
			b.WriteByte(byte(r - escBase))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// passThrough is the CharsetReader for every declared encoding: the bytes
// are used as they are, exactly like the original's parser, which never
// transcoded (the stock file says ISO-8859-1 and holds UTF-8 paths).
func passThrough(_ string, r io.Reader) (io.Reader, error) { return r, nil }

func readSettings() etree.ReadSettings {
	return etree.ReadSettings{
		CharsetReader:          passThrough,
		Permissive:             true, // bare &, unquoted and valueless attributes
		PreserveDuplicateAttrs: true, // the first of duplicate attributes wins, as in the original
	}
}

// parseDoc parses the file's bytes and returns its <head> element, or a
// *ParseError.
func parseDoc(name string, data []byte) (*etree.Element, error) {
	if len(data) == 0 {
		return nil, &ParseError{File: name, Msg: MsgNoXMLData}
	}
	esc, ok := escapeInvalid(data)
	if !ok {
		return nil, &ParseError{File: name, Msg: msgReservedRune}
	}
	doc := etree.NewDocument()
	doc.ReadSettings = readSettings()
	if err := doc.ReadFromBytes(esc); err != nil {
		return nil, syntaxError(name, esc, err)
	}
	for _, e := range doc.ChildElements() {
		if strings.EqualFold(e.FullTag(), "head") {
			return e, nil
		}
	}
	return nil, &ParseError{File: name, Msg: MsgFirstTagNotFound}
}

type openTag struct {
	name      string
	line, col int
}

// syntaxError explains why etree refused the document. etree reports a
// mismatched or missing end tag only as etree.ErrXML, without a position, so
// the document is tokenised again with the same decoder settings and the
// element stack tracked here.
func syntaxError(name string, data []byte, etreeErr error) *ParseError {
	pe := &ParseError{File: name}
	if errors.Is(etreeErr, etree.ErrMaxDepth) {
		pe.Msg = "Error: elements nested too deeply"
		return pe
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = false
	dec.CharsetReader = passThrough
	var stack []openTag
	for {
		line, col := dec.InputPos()
		tok, err := dec.RawToken()
		if err == io.EOF {
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				pe.Line, pe.Col = top.line, top.col
				pe.Msg = fmt.Sprintf("Error: element <%s> opened at line %d, column %d is never closed", unescape(top.name), top.line, top.col)
				return pe
			}
			break
		}
		if err != nil {
			pe.Line, pe.Col = dec.InputPos()
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				pe.Line = se.Line
				pe.Msg = "Error: " + unescape(se.Msg)
			} else {
				pe.Msg = "Error: " + unescape(strings.TrimPrefix(err.Error(), "xml: "))
			}
			return pe
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, openTag{qname(t.Name), line, col})
		case xml.EndElement:
			end := qname(t.Name)
			if len(stack) == 0 {
				pe.Line, pe.Col = line, col
				pe.Msg = fmt.Sprintf("Error: end tag </%s> has no start tag", unescape(end))
				return pe
			}
			top := stack[len(stack)-1]
			if top.name != end {
				pe.Line, pe.Col = line, col
				pe.Msg = fmt.Sprintf("Error: end tag </%s> does not match <%s> opened at line %d, column %d", unescape(end), unescape(top.name), top.line, top.col)
				if strings.EqualFold(top.name, end) {
					pe.Msg += " (an end tag must repeat the start tag's name exactly, including case)"
				}
				return pe
			}
			stack = stack[:len(stack)-1]
		}
	}
	// The tokeniser found nothing wrong; report what etree said.
	pe.Msg = "Error: " + unescape(etreeErr.Error())
	var se *xml.SyntaxError
	if errors.As(etreeErr, &se) {
		pe.Line = se.Line
	}
	return pe
}

func qname(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

package failog

import (
	"strings"
)

// headerLines open every failLog this package writes; the parser skips a
// first block that starts with them.
var headerLines = []string{
	"#!/bin/sh",
	"# sersync2 failLog: changes not yet on a remote, one entry each.",
	"# sersync2 replays the entries itself and removes each one once it is synced.",
	"# Run by hand with: sh FILE. Each entry is one rsync command; file names",
	"# are quoted (inside the printf format) and never run. #errno is rsync's",
	"# exit code of the latest failure (sersync2 2.5.4 wrote the wait status).",
}

// block is one entry of the file, or a run of lines that is not one of
// ours (kept verbatim).
type block struct {
	e   *Entry // nil: not an entry
	raw string // the block's lines, each ending in "\n"
}

// parse splits a failLog into blocks separated by empty lines. A block is
// an entry when it holds exactly one "#sersync2 " line that parses and
// ends with its newline; the #errno and command lines around it are not
// read (they are regenerated). Any other block, a torn last line
// included, is returned as text. Our header is dropped. parse never fails.
func parse(data string) []block {
	var out []block
	for i, raw := range splitBlocks(data) {
		if i == 0 && isHeader(raw) {
			continue
		}
		b := block{raw: raw}
		var metas []string
		for line := range strings.Lines(raw) {
			if strings.HasPrefix(line, metaPrefix) {
				metas = append(metas, line)
			}
		}
		if len(metas) == 1 && strings.HasSuffix(metas[0], "\n") {
			if e, err := parseMeta(strings.TrimSuffix(metas[0], "\n")); err == nil {
				b.e = &e
			}
		}
		out = append(out, b)
	}
	return out
}

// splitBlocks cuts data at empty lines; every block keeps its lines'
// newlines (the last line of the file may lack one).
func splitBlocks(data string) []string {
	var out []string
	var cur strings.Builder
	for line := range strings.Lines(data) {
		if line == "\n" {
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteString(line)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func isHeader(raw string) bool {
	return strings.HasPrefix(raw, headerLines[0]+"\n"+headerLines[1]+"\n")
}

// Parse reads the entries of a failLog and returns them with the number
// of blocks that are not entries (another program's lines, a torn line).
func Parse(data []byte) (entries []Entry, other int) {
	for _, b := range parse(string(data)) {
		if b.e != nil {
			entries = append(entries, *b.e)
		} else {
			other++
		}
	}
	return entries, other
}

// commented returns a block that is not an entry with every line made a
// comment, so running the file with sh never runs it; lines that already
// are comments stay as they are.
func commented(raw string) string {
	var b strings.Builder
	for line := range strings.Lines(raw) {
		if !strings.HasPrefix(line, "#") {
			b.WriteString("# ")
		}
		b.WriteString(line)
	}
	return b.String()
}

// render writes the header and the blocks, each followed by an empty line.
func render(blocks []string) []byte {
	var b strings.Builder
	for _, l := range headerLines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	for _, s := range blocks {
		b.WriteString(s)
		if !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

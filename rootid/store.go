package rootid

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Record is a root's identity as recorded, and when.
type Record struct {
	ID
	Recorded time.Time `json:"recorded"`
	// Accepted is set when an operator accepted this identity
	// (--accept-root) rather than it being taken at the first watch.
	Accepted bool `json:"accepted,omitempty"`
}

// records is the file's content: one record per root, by its path as
// configured.
type records struct {
	Roots map[string]Record `json:"roots"`
}

// load reads the records file; a missing file holds no record.
func load(file string) (map[string]Record, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]Record{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rootid: records: %w", err)
	}
	var rs records
	if err := json.Unmarshal(data, &rs); err != nil {
		return nil, fmt.Errorf("rootid: records %s: %w (move it away to record every root anew, or fix it)", file, err)
	}
	if rs.Roots == nil {
		rs.Roots = map[string]Record{}
	}
	return rs.Roots, nil
}

// store records rec for root in file, keeping the other roots' records as
// the file has them now (another process may have written one), and
// replaces the file in one rename.
func store(file, root string, rec Record) error {
	rs, err := load(file)
	if err != nil {
		return err
	}
	rs[root] = rec
	data, err := json.MarshalIndent(records{Roots: rs}, "", "  ")
	if err != nil {
		return fmt.Errorf("rootid: records: %w", err)
	}
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("rootid: records: %w", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(file)+".*")
	if err != nil {
		return fmt.Errorf("rootid: records: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		return fmt.Errorf("rootid: records %s: %w", file, err)
	}
	return nil
}

// fileStamp tells whether the records file changed since it was read.
type fileStamp struct {
	ino, size int64
	mtime     time.Time
	exists    bool
}

func stampOf(file string) fileStamp {
	st, err := os.Stat(file)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{ino: inode(st), size: st.Size(), mtime: st.ModTime(), exists: true}
}

//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/sersync-go/sersync2/inotifymask"
	"github.com/sersync-go/sersync2/internal/hostile"
)

// env describes the machine and the tools' versions; every JSON line
// carries it.
type env struct {
	Date        string `json:"date"`
	Host        string `json:"host"`
	NProc       int    `json:"nproc"`
	CPU         string `json:"cpu"`
	Kernel      string `json:"kernel"`
	Rsync       string `json:"rsync"`
	Lsyncd      string `json:"lsyncd,omitempty"`
	Inotifywait string `json:"inotifywait,omitempty"`
	Sersync2    string `json:"sersync2"`
	// Sersync2Base is the version of the -base-bin binary.
	Sersync2Base string `json:"sersync2_base,omitempty"`
	// FanotifySkipped says why toolOursFan was left out of the run:
	// fanotify cannot watch the work directory.
	FanotifySkipped string `json:"fanotify_skipped,omitempty"`
	// TargetsApart says that the targets lived on another file system
	// than the sources (-target-work).
	TargetsApart bool `json:"targets_apart,omitempty"`
}

// probeEnv fills env and checks that every selected tool is installed.
func probeEnv(ctx context.Context, cfg config) (env, error) {
	e := env{Date: time.Now().Format("2006-01-02"), NProc: runtime.NumCPU(), CPU: cpuModel()}
	var err error
	if e.Host, err = os.Hostname(); err != nil {
		return e, fmt.Errorf("hostname: %w", err)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.Kernel = strings.TrimSpace(string(b))
	}
	first := func(name string, args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		if err != nil && line == "" {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		return strings.TrimSpace(line), nil
	}
	if e.Rsync, err = first("rsync", "--version"); err != nil {
		return e, fmt.Errorf("rsync is needed (make deps): %w", err)
	}
	need := map[string]bool{}
	for _, t := range cfg.tools {
		need[t] = true
	}
	if cfg.targetWork != "" {
		same, err := sameFileSystem(cfg.work, cfg.targetWork)
		if err != nil {
			return e, fmt.Errorf("-target-work: %w", err)
		}
		e.TargetsApart = !same
	}
	if need[toolOursFan] {
		if err := inotifymask.FanotifyUsable(cfg.work); err != nil {
			e.FanotifySkipped = err.Error()
		}
	}
	if need[toolOurs] || need[toolOursFan] || need[toolOursNoMoves] {
		if e.Sersync2, err = first(cfg.bin, "--version"); err != nil {
			return e, fmt.Errorf("sersync2 binary %s (make build): %w", cfg.bin, err)
		}
	}
	if need[toolOursBase] {
		if e.Sersync2Base, err = first(cfg.baseBin, "--version"); err != nil {
			return e, fmt.Errorf("-base-bin %s: %w", cfg.baseBin, err)
		}
	}
	if need[toolLsyncd1] || need[toolLsyncd0] {
		if e.Lsyncd, err = first("lsyncd", "--version"); err != nil {
			return e, fmt.Errorf("lsyncd is needed (make deps-bench): %w", err)
		}
	}
	if need[toolLoop] {
		// inotifywait --help exits non-zero but prints its version first.
		if e.Inotifywait, err = first("inotifywait", "--help"); err != nil {
			return e, fmt.Errorf("inotifywait is needed (make deps-bench): %w", err)
		}
		if _, err := exec.LookPath("bash"); err != nil {
			return e, fmt.Errorf("bash is needed for the inotify loop: %w", err)
		}
	}
	return e, nil
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// jsonSink appends one JSON object per cell to <dir>/<date>-<host>.jsonl.
type jsonSink struct {
	path string
	f    *os.File
	enc  *json.Encoder
}

func openSink(dir string, e env) (*jsonSink, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	host := strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r < 0x20 {
			return '_'
		}
		return r
	}, e.Host)
	p := filepath.Join(dir, e.Date+"-"+host+".jsonl")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	return &jsonSink{path: p, f: f, enc: json.NewEncoder(f)}, nil
}

func (s *jsonSink) Write(r result) error {
	if err := s.enc.Encode(r); err != nil {
		return fmt.Errorf("results %s: %w", s.path, err)
	}
	return nil
}

func (s *jsonSink) Close() error { return s.f.Close() }

// reportFile prints the table and the targets of the cells recorded in a
// results file, e.g. of a run that was interrupted before its table.
func reportFile(ctx context.Context, cfg config, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var results []result
	dec := json.NewDecoder(f)
	for {
		var r result
		if err := dec.Decode(&r); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		results = append(results, r)
	}
	if len(results) == 0 {
		return fmt.Errorf("%s: no cells", path)
	}
	e, names, err := probeInputs(ctx, cfg)
	if err != nil {
		return err
	}
	printReport(cfg.out, cfg, e, results, len(names), 0)
	return nil
}

// probeInputs returns what a run and a report both start from: the
// machine and the tools' versions, and the hostile names.
func probeInputs(ctx context.Context, cfg config) (env, []string, error) {
	e, err := probeEnv(ctx, cfg)
	if err != nil {
		return env{}, nil, err
	}
	names, err := hostile.Read(cfg.hostile)
	if err != nil {
		return env{}, nil, err
	}
	return e, names, nil
}

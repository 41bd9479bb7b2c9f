//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of the times in /proc/PID/stat. It is 100
// on every Linux architecture Go supports.
const clockTick = 100

// procInfo is what the harness reads from /proc/PID/stat.
type procInfo struct {
	pid, ppid int
	comm      string
	// ticks is utime+stime+cutime+cstime: the process's own CPU time plus
	// that of the children it has reaped; own is utime+stime alone.
	ticks, own int64
}

// parseStat parses one /proc/PID/stat line. comm may hold spaces and
// parentheses, so the fields are taken after the last ')'.
func parseStat(b []byte) (procInfo, error) {
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return procInfo{}, fmt.Errorf("stat: no (comm) in %q", b)
	}
	var p procInfo
	var err error
	if p.pid, err = strconv.Atoi(strings.TrimSpace(string(b[:open]))); err != nil {
		return procInfo{}, fmt.Errorf("stat: pid: %w", err)
	}
	p.comm = string(b[open+1 : closing])
	f := strings.Fields(string(b[closing+1:]))
	// f[0] is field 3 (state); utime..cstime are fields 14..17.
	if len(f) < 15 {
		return procInfo{}, fmt.Errorf("stat: %d fields after comm", len(f))
	}
	if p.ppid, err = strconv.Atoi(f[1]); err != nil {
		return procInfo{}, fmt.Errorf("stat: ppid: %w", err)
	}
	for i, s := range f[11:15] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return procInfo{}, fmt.Errorf("stat: times: %w", err)
		}
		p.ticks += v
		if i < 2 {
			p.own += v
		}
	}
	return p, nil
}

// allProcs reads every process's stat; processes that exit while it reads
// are left out.
func allProcs() (map[int]procInfo, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("proc: %w", err)
	}
	out := make(map[int]procInfo, len(ents))
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone
		}
		p, err := parseStat(b)
		if err != nil {
			continue
		}
		out[p.pid] = p
	}
	return out, nil
}

// descendants returns root and every process below it, root first.
func descendants(root int, all map[int]procInfo) []procInfo {
	children := map[int][]int{}
	for _, p := range all {
		children[p.ppid] = append(children[p.ppid], p.pid)
	}
	r, ok := all[root]
	if !ok {
		return nil
	}
	out := []procInfo{r}
	for i := 0; i < len(out); i++ {
		for _, c := range children[out[i].pid] {
			out = append(out, all[c])
		}
	}
	return out
}

// treeSample is the CPU time and the peak RSS of a process tree at one
// moment.
type treeSample struct {
	cpu   time.Duration
	own   time.Duration // CPU of the tool's own processes, without any rsync
	rss   int64         // sum of VmHWM of the tree's processes that are not rsync
	procs []procInfo
}

// sampleTree reads the tree below root. CPU counts every live process of
// the tree and, through cutime/cstime, every child they reaped.
func sampleTree(root int) (treeSample, error) {
	all, err := allProcs()
	if err != nil {
		return treeSample{}, err
	}
	var s treeSample
	s.procs = descendants(root, all)
	if len(s.procs) == 0 {
		return s, fmt.Errorf("proc: process %d is gone", root)
	}
	for _, p := range s.procs {
		s.cpu += time.Duration(p.ticks) * time.Second / clockTick
		if p.comm == "rsync" {
			continue // transient children: their memory is not the tool's
		}
		s.own += time.Duration(p.own) * time.Second / clockTick
		if hwm, err := vmHWM(p.pid); err == nil {
			s.rss += hwm
		}
	}
	return s, nil
}

// vmHWM returns the peak resident set size of pid in bytes.
func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, fmt.Errorf("proc: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("proc: VmHWM line %q", line)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("proc: VmHWM: %w", err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("proc: no VmHWM for %d", pid)
}

package lsyncdconf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Limits of the sandbox. A configuration is a few hundred lines that run in
// microseconds; these only stop one that never ends or grows without
// bound.
const (
	runTimeout   = 2 * time.Second
	maxFileSize  = 1 << 20  // one configuration file or included file
	maxFiles     = 64       // files dofile and require may read, in all
	maxString    = 64 << 10 // string.rep result, subject of a pattern function
	maxCallDepth = 200
)

// pos is where something was written: the file (as the report names it)
// and the line.
type pos struct {
	file string
	line int
}

func (p pos) String() string { return fmt.Sprintf("%s:%d", p.file, p.line) }

// syncCall is one recorded sync{...}: its table and where it was called.
type syncCall struct {
	at  pos
	tbl *lua.LTable
}

// recording is what evaluating a configuration left behind.
type recording struct {
	syncs      []syncCall
	settings   []*lua.LTable // settings{...} calls, in order
	settingsAt []pos
	// assigned is a table assigned to the global settings (the lsyncd 2.0
	// form settings = {...}), nil otherwise.
	assigned   *lua.LTable
	assignedAt pos
	// calls records load-time calls of lsyncd functions that do something
	// at run time (spawn, log, ...): nothing of them is carried over.
	calls []note
	// kinds maps the default.* tables to their names.
	kinds map[*lua.LTable]string
	// dflt is the global default table (its plain fields are inherited by
	// every sync).
	dflt *lua.LTable
	// chunkFile maps gopher-lua chunk names to the names the report uses.
	chunkFile map[string]string
}

// sandbox runs one configuration.
type sandbox struct {
	L     *lua.LState
	dir   string // the configuration's directory: dofile and require stay inside
	files int
	rec   *recording
}

// evaluate runs the configuration src (read from name, whose directory
// dofile and require may read) and returns what it recorded.
func evaluate(ctx context.Context, name string, src []byte) (rec *recording, err error) {
	L := lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: maxCallDepth, RegistrySize: 1024, RegistryMaxSize: 256 << 10})
	defer L.Close()
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	L.SetContext(ctx)
	dir := "."
	if abs, err := filepath.Abs(name); err == nil {
		dir = filepath.Dir(abs)
	}
	sb := &sandbox{L: L, dir: dir, rec: &recording{kinds: map[*lua.LTable]string{}, chunkFile: map[string]string{}}}
	defer func() {
		// gopher-lua reports some failures of its own (a stack overflow
		// past the limits above) by panicking; they are errors of the
		// configuration.
		if r := recover(); r != nil {
			rec, err = nil, fmt.Errorf("lsyncdconf: %s: evaluation stopped: %v", name, r)
		}
	}()
	if err := sb.open(); err != nil {
		return nil, err
	}
	fn, err := sb.load(filepath.Base(name), src)
	if err != nil {
		return nil, fmt.Errorf("lsyncdconf: %w", err)
	}
	L.Push(fn)
	if err := L.PCall(0, 0, nil); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("lsyncdconf: %s: still running after %s (a loop that does not end?)", name, runTimeout)
		}
		return nil, fmt.Errorf("lsyncdconf: %s: %w", name, luaError(err))
	}
	if t, ok := L.GetGlobal("settings").(*lua.LTable); ok {
		sb.rec.assigned = t
		sb.rec.assignedAt = pos{file: filepath.Base(name), line: assignmentLine(src)}
	}
	return sb.rec, nil
}

// luaError shortens gopher-lua's error to its message and position,
// without the Lua stack traceback.
func luaError(err error) error {
	var le *lua.ApiError
	if errors.As(err, &le) && le.Object != nil {
		return errors.New(le.Object.String())
	}
	msg, _, _ := strings.Cut(err.Error(), "\nstack traceback:")
	return errors.New(msg)
}

// load compiles a chunk, remembering the name the report uses for it.
func (sb *sandbox) load(name string, src []byte) (*lua.LFunction, error) {
	sb.rec.chunkFile[name] = name
	return sb.L.Load(strings.NewReader(string(src)), name)
}

// open installs the safe parts of Lua's standard library and lsyncd's
// globals as recorders.
func (sb *sandbox) open() error {
	L := sb.L
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		if err := L.CallByParam(lua.P{Fn: L.NewFunction(lib.fn), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return fmt.Errorf("lsyncdconf: opening Lua library %s: %w", lib.name, err)
		}
	}
	// Reading and running other files goes through dofile and require
	// below; printing and garbage collection are of no use here.
	for _, g := range []string{"print", "collectgarbage"} {
		L.SetGlobal(g, L.NewFunction(func(*lua.LState) int { return 0 }))
	}
	L.SetGlobal("loadfile", lua.LNil)
	L.SetGlobal("module", lua.LNil)
	L.SetGlobal("dofile", L.NewFunction(sb.dofile))
	L.SetGlobal("require", L.NewFunction(sb.require))
	sb.capStrings()

	osTbl := L.NewTable()
	L.SetField(osTbl, "getenv", L.NewFunction(func(L *lua.LState) int {
		v, ok := os.LookupEnv(L.CheckString(1))
		if !ok {
			L.Push(lua.LNil)
		} else {
			L.Push(lua.LString(v))
		}
		return 1
	}))
	L.SetField(osTbl, "time", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LNumber(time.Now().Unix())); return 1 }))
	L.SetField(osTbl, "clock", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LNumber(0)); return 1 }))
	L.SetGlobal("os", osTbl)

	L.SetGlobal("settings", L.NewFunction(sb.settings))
	L.SetGlobal("sync", L.NewFunction(sb.sync))
	dflt := L.NewTable()
	sb.rec.dflt = dflt
	for _, k := range []string{"rsync", "rsyncssh", "direct"} {
		t := L.NewTable()
		for _, sub := range []string{"rsync", "ssh", "xargs"} {
			L.SetField(t, sub, L.NewTable())
		}
		sb.rec.kinds[t] = k
		L.SetField(dflt, k, t)
	}
	L.SetGlobal("default", dflt)
	// Functions lsyncd offers for actions; called while the configuration
	// loads they would do something at run time, which is not converted.
	lsyncdTbl := L.NewTable()
	for _, g := range []string{"spawn", "spawnShell", "log", "terminate", "alarm", "observefd", "nonobservefd", "tunnel"} {
		name := g
		fn := L.NewFunction(func(L *lua.LState) int {
			sb.rec.calls = append(sb.rec.calls, note{at: sb.where(), item: name + "(...)", text: "called while the configuration loads; sersync2 runs no Lua", lost: true})
			L.Push(L.NewTable())
			return 1
		})
		L.SetGlobal(name, fn)
		L.SetField(lsyncdTbl, name, fn)
	}
	L.SetGlobal("lsyncd", lsyncdTbl)
	return nil
}

// capStrings wraps string.rep and the pattern functions so that a
// configuration cannot build huge strings or make a backtracking pattern
// run over one for longer than the time limit can interrupt.
func (sb *sandbox) capStrings() {
	L := sb.L
	str, ok := L.GetGlobal("string").(*lua.LTable)
	if !ok {
		return
	}
	wrap := func(name string, check func(L *lua.LState) bool) {
		orig, ok := L.GetField(str, name).(*lua.LFunction)
		if !ok {
			return
		}
		L.SetField(str, name, L.NewFunction(func(L *lua.LState) int {
			if !check(L) {
				L.RaiseError("string.%s: result or subject longer than %d bytes", name, maxString)
			}
			top := L.GetTop()
			L.Push(orig)
			for i := 1; i <= top; i++ {
				L.Push(L.Get(i))
			}
			L.Call(top, lua.MultRet)
			return L.GetTop() - top
		}))
	}
	wrap("rep", func(L *lua.LState) bool {
		return float64(len(L.OptString(1, "")))*float64(L.OptNumber(2, 0)) <= maxString
	})
	for _, f := range []string{"find", "match", "gmatch", "gsub"} {
		wrap(f, func(L *lua.LState) bool { return len(L.OptString(1, "")) <= maxString })
	}
}

// where returns the position of the Lua code that called the running Go
// function.
func (sb *sandbox) where() pos {
	dbg, ok := sb.L.GetStack(1)
	if !ok {
		return pos{file: "?", line: 0}
	}
	if _, err := sb.L.GetInfo("Sl", dbg, lua.LNil); err != nil {
		return pos{file: "?", line: 0}
	}
	return pos{file: sb.fileName(dbg.Source), line: dbg.CurrentLine}
}

// fileName is the report's name for a chunk.
func (sb *sandbox) fileName(source string) string {
	if f, ok := sb.rec.chunkFile[source]; ok {
		return f
	}
	return strings.TrimPrefix(source, "@")
}

func (sb *sandbox) settings(L *lua.LState) int {
	t := L.CheckTable(1)
	sb.rec.settings = append(sb.rec.settings, t)
	sb.rec.settingsAt = append(sb.rec.settingsAt, sb.where())
	return 0
}

func (sb *sandbox) sync(L *lua.LState) int {
	t := L.CheckTable(1)
	sb.rec.syncs = append(sb.rec.syncs, syncCall{at: sb.where(), tbl: t})
	return 0
}

// include resolves a file name dofile or require was given: it must lie
// in the configuration's directory (or below it), also after symbolic
// links are followed.
func (sb *sandbox) include(name string) (string, []byte, error) {
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(sb.dir, p)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", nil, err
	}
	dir, err := filepath.EvalSymlinks(sb.dir)
	if err != nil {
		return "", nil, err
	}
	if rel, err := filepath.Rel(dir, real); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", nil, fmt.Errorf("%s is outside the configuration's directory %s; the converter reads nothing else", name, sb.dir)
	}
	sb.files++
	if sb.files > maxFiles {
		return "", nil, fmt.Errorf("more than %d included files", maxFiles)
	}
	f, err := os.Open(real)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return "", nil, err
	}
	if len(src) > maxFileSize {
		return "", nil, fmt.Errorf("%s is larger than %d bytes", name, maxFileSize)
	}
	rel, _ := filepath.Rel(sb.dir, p)
	return rel, src, nil
}

// run loads and calls an included file, returning its results.
func (sb *sandbox) run(L *lua.LState, name string) int {
	rel, src, err := sb.include(name)
	if err != nil {
		L.RaiseError("%v", err)
	}
	fn, err := sb.load(rel, src)
	if err != nil {
		L.RaiseError("%v", err)
	}
	top := L.GetTop()
	L.Push(fn)
	L.Call(0, lua.MultRet)
	return L.GetTop() - top
}

func (sb *sandbox) dofile(L *lua.LState) int {
	return sb.run(L, L.CheckString(1))
}

func (sb *sandbox) require(L *lua.LState) int {
	mod := L.CheckString(1)
	loaded, ok := L.GetGlobal("\x00required").(*lua.LTable)
	if !ok {
		loaded = L.NewTable()
		L.SetGlobal("\x00required", loaded)
	}
	if v := L.GetField(loaded, mod); v != lua.LNil {
		L.Push(v)
		return 1
	}
	if strings.Contains(mod, "..") || strings.HasPrefix(mod, "/") {
		L.RaiseError("require %q: only modules in the configuration's directory can be read", mod)
	}
	top := L.GetTop()
	n := sb.run(L, strings.ReplaceAll(mod, ".", "/")+".lua")
	v := lua.LValue(lua.LTrue)
	if n > 0 && L.Get(top+1) != lua.LNil {
		v = L.Get(top + 1)
	}
	L.SetField(loaded, mod, v)
	L.Push(v)
	return 1
}

// settingsAssign finds the line of "settings = {": Lua keeps no position
// for an assignment, and the report names one.
var settingsAssign = regexp.MustCompile(`^\s*settings\s*=`)

// assignmentLine returns the first line of src that assigns the global
// settings, or 0.
func assignmentLine(src []byte) int {
	for i, l := range strings.Split(string(src), "\n") {
		if settingsAssign.MatchString(l) {
			return i + 1
		}
	}
	return 0
}

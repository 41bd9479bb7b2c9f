package fsgen

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"time"
)

// Options shape a generated sequence.
type Options struct {
	// Names are extra name stems (hostile names, say); a generated name is
	// a stem followed by a number, so no name is used twice. Stems that
	// start with "." (temp files the watcher never reports) are left out.
	Names []string
	// NoDirToFile never puts a file where a directory was: a mirror fed
	// without deletes keeps the directory, and rsync cannot replace a
	// non-empty directory by a file without deleting.
	NoDirToFile bool
	// ExcludeSuffix, when set, is appended to some generated names (".tmp"
	// for a filter excluding `(.*)\.tmp`).
	ExcludeSuffix string
	// ExcludeTopDir, when set, is a directory at the root that the
	// sequence makes, fills, renames into and out of ("cache" for a filter
	// excluding `^cache/*`).
	ExcludeTopDir string
}

// Stems every sequence draws names from besides Options.Names: Chinese,
// invalid UTF-8, spaces, quotes, a leading dash.
var builtinStems = []string{"文件", "目录 名", "\xc3\x28bad", "\xff", "a b", `it's`, "-lead", "$(x)", "nl\nx"}

const (
	maxDepth    = 12 // deepest directory a sequence makes
	mkdirPDepth = 5  // deepest base of a mkdir -p
	burstDepth  = 6  // deepest directory a burst writes into
	tries       = 8  // bounded searches for a valid pick
)

// Generate returns n operations from seed. The same seed, n and options
// always give the same operations.
func Generate(seed int64, n int, opts Options) []Op {
	g := newGen(seed, opts)
	for len(g.ops) < n {
		g.step()
	}
	return g.ops[:n]
}

type entry struct {
	dir  bool
	size int64
}

// gen is the generator and its model of the tree.
type gen struct {
	r     *rand.Rand
	opts  Options
	stems []string
	tree  map[string]entry // below the root; "" is not stored
	// sizes holds every size a file at a path has had: a write never
	// gives a path a size it had before, so a mirror holding an older
	// version always differs in size (rsync's quick check looks at size
	// and time only).
	sizes   map[string]map[int64]bool
	outside map[string]map[string]entry // moved-out name -> its subtree ("" = itself)
	seq     int
	ops     []Op
}

func newGen(seed int64, opts Options) *gen {
	g := &gen{
		r:       rand.New(rand.NewPCG(uint64(seed), 0x5e25c2)),
		opts:    opts,
		tree:    make(map[string]entry),
		sizes:   make(map[string]map[int64]bool),
		outside: make(map[string]map[string]entry),
	}
	for _, s := range append(slices.Clone(builtinStems), opts.Names...) {
		if s != "" && !strings.HasPrefix(s, ".") && !strings.Contains(s, "/") {
			g.stems = append(g.stems, s)
		}
	}
	return g
}

// scenario is one step of the generator: it emits one or more ops.
type scenario struct {
	weight int
	run    func(*gen)
}

var scenarios = []scenario{
	{14, (*gen).create},
	{7, (*gen).overwrite},
	{5, (*gen).appendTo},
	{4, (*gen).truncate},
	{3, (*gen).chmod},
	{3, (*gen).utime},
	{5, (*gen).mkdir},
	{8, (*gen).mkdirP},
	{5, (*gen).remove},
	{3, (*gen).removeAll},
	{5, (*gen).renameInDir},
	{5, (*gen).renameAcross},
	{3, (*gen).renameIntoNewDir},
	{6, (*gen).mkdirPRenameAncestor},
	{3, (*gen).renameChain},
	{3, (*gen).moveOut},
	{2, (*gen).moveIn},
	{3, (*gen).recreate},
	{2, (*gen).dirToFileAndBack},
	{1, (*gen).burst},
	{4, (*gen).excludedTopDir},
}

var totalWeight = func() int {
	n := 0
	for _, s := range scenarios {
		n += s.weight
	}
	return n
}()

func (g *gen) step() {
	x := g.r.IntN(totalWeight)
	for _, s := range scenarios {
		if x < s.weight {
			s.run(g)
			return
		}
		x -= s.weight
	}
}

// emit appends op with delay d.
func (g *gen) emit(d time.Duration, op Op) {
	op.Delay = d
	op.Salt = g.r.Uint32()
	g.ops = append(g.ops, op)
}

// pause is the delay before a scenario: half the time none, else up to
// 50 ms, mostly short.
func (g *gen) pause() time.Duration {
	switch x := g.r.IntN(10); {
	case x < 5:
		return 0
	case x < 8:
		return time.Duration(1+g.r.IntN(5)) * time.Millisecond
	default:
		return time.Duration(5+g.r.IntN(46)) * time.Millisecond
	}
}

// moment is the short delay of "a moment later" inside a scenario.
func (g *gen) moment() time.Duration { return time.Duration(1+g.r.IntN(30)) * time.Millisecond }

// name returns a new name, never used before in this sequence.
func (g *gen) name(dir bool) string {
	g.seq++
	stem := "f"
	if dir {
		stem = "d"
	}
	if g.r.IntN(100) < 35 {
		stem = g.stems[g.r.IntN(len(g.stems))]
	}
	n := fmt.Sprintf("%s%d", stem, g.seq)
	if g.opts.ExcludeSuffix != "" && g.r.IntN(100) < 8 {
		n += g.opts.ExcludeSuffix
	}
	return n
}

func depth(p string) int {
	if p == "" {
		return 0
	}
	return strings.Count(p, "/") + 1
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func parent(p string) string {
	if d := path.Dir(p); d != "." {
		return d
	}
	return ""
}

func below(p, dir string) bool { return dir == "" || p == dir || strings.HasPrefix(p, dir+"/") }

// paths returns the sorted paths of the model that keep says to.
func (g *gen) paths(keep func(p string, e entry) bool) []string {
	var out []string
	for p, e := range g.tree {
		if keep(p, e) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func (g *gen) pick(ps []string) (string, bool) {
	if len(ps) == 0 {
		return "", false
	}
	return ps[g.r.IntN(len(ps))], true
}

func (g *gen) pickFile() (string, bool) {
	return g.pick(g.paths(func(_ string, e entry) bool { return !e.dir }))
}

// pickDir returns a directory at most maxD deep, the root ("") included,
// not below avoid (when set).
func (g *gen) pickDir(maxD int, avoid string) string {
	ds := g.paths(func(p string, e entry) bool {
		return e.dir && depth(p) <= maxD && (avoid == "" || !below(p, avoid))
	})
	if len(ds) == 0 || g.r.IntN(len(ds)+1) == 0 {
		return ""
	}
	return ds[g.r.IntN(len(ds))]
}

// pickEntry returns an existing path, a directory half the time when
// there is one.
func (g *gen) pickEntry() (string, bool) {
	if g.r.IntN(2) == 0 {
		if d, ok := g.pick(g.paths(func(_ string, e entry) bool { return e.dir })); ok {
			return d, true
		}
	}
	return g.pick(g.paths(func(string, entry) bool { return true }))
}

// height is how many levels p spans (1 for a file or an empty dir).
func (g *gen) height(p string) int {
	h := 1
	for q := range g.tree {
		if below(q, p) {
			h = max(h, depth(q)-depth(p)+1)
		}
	}
	return h
}

// newSize returns a size the file at p never had: mostly small, now and
// then up to 300 KB.
func (g *gen) newSize(p string) int64 {
	for range tries {
		var s int64
		switch x := g.r.IntN(100); {
		case x < 90:
			s = g.r.Int64N(4096)
		case x < 97:
			s = 4096 + g.r.Int64N(60000)
		default:
			s = 65536 + g.r.Int64N(240000)
		}
		if !g.sizes[p][s] {
			return s
		}
	}
	return g.maxSize(p) + 1
}

func (g *gen) maxSize(p string) int64 {
	var m int64
	for s := range g.sizes[p] {
		m = max(m, s)
	}
	return m
}

func (g *gen) setFile(p string, size int64) {
	g.tree[p] = entry{size: size}
	if g.sizes[p] == nil {
		g.sizes[p] = make(map[int64]bool)
	}
	g.sizes[p][size] = true
}

// removeTree drops p and everything below it from the model and returns
// what it dropped, keyed relative to p ("" = p itself).
func (g *gen) removeTree(p string) map[string]entry {
	sub := make(map[string]entry)
	for q, e := range g.tree {
		if below(q, p) {
			sub[strings.TrimPrefix(strings.TrimPrefix(q, p), "/")] = e
			delete(g.tree, q)
		}
	}
	return sub
}

// addTree puts a subtree (from removeTree) at p.
func (g *gen) addTree(p string, sub map[string]entry) {
	for rel, e := range sub {
		q := join(p, rel)
		if rel == "" {
			q = p
		}
		if e.dir {
			g.tree[q] = e
		} else {
			g.setFile(q, e.size)
		}
	}
}

func (g *gen) moveTree(from, to string) { g.addTree(to, g.removeTree(from)) }

// write emits a Create or Overwrite of p with a size p never had.
func (g *gen) write(d time.Duration, k Kind, p string) {
	s := g.newSize(p)
	g.emit(d, Op{Kind: k, Path: p, Size: s})
	g.setFile(p, s)
}

// fileOrCreate picks an existing file; when there is none it creates one
// instead and returns false.
func (g *gen) fileOrCreate() (string, bool) {
	p, ok := g.pickFile()
	if !ok {
		g.create()
	}
	return p, ok
}

// --- scenarios ---

func (g *gen) create() {
	g.write(g.pause(), Create, join(g.pickDir(maxDepth-1, ""), g.name(false)))
}

func (g *gen) overwrite() {
	if p, ok := g.fileOrCreate(); ok {
		g.write(g.pause(), Overwrite, p)
	}
}

func (g *gen) appendTo() {
	p, ok := g.fileOrCreate()
	if !ok {
		return
	}
	cur := g.tree[p].size
	add := int64(1 + g.r.IntN(2048))
	for i := 0; i < tries && g.sizes[p][cur+add]; i++ {
		add = int64(1 + g.r.IntN(2048))
	}
	if g.sizes[p][cur+add] {
		add = g.maxSize(p) + 1 - cur
	}
	g.emit(g.pause(), Op{Kind: Append, Path: p, Size: add})
	g.setFile(p, cur+add)
}

func (g *gen) truncate() {
	p, ok := g.fileOrCreate()
	if !ok {
		return
	}
	cur := g.tree[p].size
	s := cur + 1 + g.r.Int64N(4096)
	if cur > 0 && g.r.IntN(2) == 0 {
		s = g.r.Int64N(cur)
	}
	if g.sizes[p][s] {
		s = g.maxSize(p) + 1
	}
	g.emit(g.pause(), Op{Kind: Truncate, Path: p, Size: s})
	g.setFile(p, s)
}

var (
	fileModes = []fs.FileMode{0o600, 0o640, 0o644, 0o664, 0o700, 0o755}
	dirModes  = []fs.FileMode{0o700, 0o750, 0o755, 0o775}
)

func (g *gen) chmod() {
	p, ok := g.pickEntry()
	if !ok {
		g.mkdir()
		return
	}
	modes := fileModes
	if g.tree[p].dir {
		modes = dirModes
	}
	g.emit(g.pause(), Op{Kind: Chmod, Path: p, Mode: modes[g.r.IntN(len(modes))]})
}

// utimeBase is the earliest time Utime sets on a directory.
var utimeBase = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// utime sets a directory's times into the past, and a file's to now
// (touch). A file is never set back: with rsync -u (the stock -artuz) a
// mirror holding a newer time keeps its older content, and a file set
// back before its last write was synced would never be sent.
func (g *gen) utime() {
	p, ok := g.pickEntry()
	if !ok {
		g.create()
		return
	}
	var when time.Time
	if g.tree[p].dir {
		when = utimeBase.Add(time.Duration(g.r.Int64N(365*24*3600)) * time.Second)
	}
	g.emit(g.pause(), Op{Kind: Utime, Path: p, Time: when})
}

func (g *gen) mkdir() {
	p := join(g.pickDir(maxDepth-1, ""), g.name(true))
	g.emit(g.pause(), Op{Kind: Mkdir, Path: p})
	g.tree[p] = entry{dir: true}
}

// mkdirPChain makes a mkdir -p of levels new directories below base, with
// up to three files at random levels, and returns its directories, top
// first.
func (g *gen) mkdirPChain(d time.Duration, base string, levels int) []string {
	var chain []string
	p := base
	for range levels {
		p = join(p, g.name(true))
		chain = append(chain, p)
	}
	var files []string
	for range g.r.IntN(4) {
		files = append(files, join(chain[g.r.IntN(len(chain))], g.name(false)))
	}
	size := g.r.Int64N(4096)
	g.emit(d, Op{Kind: MkdirAll, Path: p, Files: files, Size: size})
	for _, c := range chain {
		g.tree[c] = entry{dir: true}
	}
	for i, f := range files {
		g.setFile(f, size+int64(i))
	}
	return chain
}

func (g *gen) mkdirP() {
	g.mkdirPChain(g.pause(), g.pickDir(mkdirPDepth, ""), 1+g.r.IntN(6))
}

func (g *gen) remove() {
	p, ok := g.fileOrCreate()
	if !ok {
		return
	}
	g.emit(g.pause(), Op{Kind: Remove, Path: p})
	delete(g.tree, p)
}

func (g *gen) removeAll() {
	p, ok := g.pick(g.paths(func(_ string, e entry) bool { return e.dir }))
	if !ok {
		g.mkdirP()
		return
	}
	g.emit(g.pause(), Op{Kind: RemoveAll, Path: p})
	g.removeTree(p)
}

// rename emits mv from to and updates the model.
func (g *gen) rename(d time.Duration, from, to string) {
	g.emit(d, Op{Kind: Rename, Path: from, To: to})
	g.moveTree(from, to)
}

func (g *gen) renameInDir() {
	p, ok := g.pickEntry()
	if !ok {
		g.mkdirP()
		return
	}
	g.rename(g.pause(), p, join(parent(p), g.name(g.tree[p].dir)))
}

// target returns a new path for p in a directory not below p, deep
// enough for p's subtree, or false.
func (g *gen) target(p string) (string, bool) {
	h := g.height(p)
	for range tries {
		d := g.pickDir(maxDepth-h, p)
		if d != parent(p) || g.r.IntN(4) == 0 {
			return join(d, g.name(g.tree[p].dir)), true
		}
	}
	return "", false
}

func (g *gen) renameAcross() {
	p, ok := g.pickEntry()
	if !ok {
		g.mkdirP()
		return
	}
	if to, ok := g.target(p); ok {
		g.rename(g.pause(), p, to)
	}
}

// renameIntoNewDir: mkdir, and at once a rename into it.
func (g *gen) renameIntoNewDir() {
	p, ok := g.pickEntry()
	if !ok {
		g.mkdirP()
		return
	}
	d := join(g.pickDir(maxDepth-g.height(p)-1, p), g.name(true))
	g.emit(g.pause(), Op{Kind: Mkdir, Path: d})
	g.tree[d] = entry{dir: true}
	g.rename(0, p, join(d, g.name(g.tree[p].dir)))
}

// mkdirPRenameAncestor: mkdir -p below a directory, at once a rename of
// the new top or of an existing ancestor, then a moment later files
// written into the renamed chain.
func (g *gen) mkdirPRenameAncestor() {
	base := g.pickDir(mkdirPDepth-1, "")
	chain := g.mkdirPChain(g.pause(), base, 2+g.r.IntN(4))
	anc := chain[0]
	if base != "" && g.r.IntN(2) == 0 {
		// An existing ancestor: base itself or one above it.
		anc = base
		for anc != "" && parent(anc) != "" && g.r.IntN(2) == 0 {
			anc = parent(anc)
		}
	}
	to := join(parent(anc), g.name(true))
	g.rename(0, anc, to)
	deepest := to + strings.TrimPrefix(chain[len(chain)-1], anc)
	d := g.moment()
	for _, dir := range []string{deepest, parent(deepest)} {
		if !below(dir, to) {
			break
		}
		g.write(d, Create, join(dir, g.name(false)))
		d = 0
	}
}

// renameChain: a -> b -> c at once.
func (g *gen) renameChain() {
	p, ok := g.pickEntry()
	if !ok {
		g.mkdirP()
		return
	}
	d := g.pause()
	for range 2 + g.r.IntN(2) {
		to, ok := g.target(p)
		if !ok {
			return
		}
		g.rename(d, p, to)
		p, d = to, 0
	}
}

func (g *gen) moveOut() {
	p, ok := g.pickEntry()
	if !ok {
		g.mkdirP()
		return
	}
	g.seq++
	o := fmt.Sprintf("o%d", g.seq)
	g.emit(g.pause(), Op{Kind: MoveOut, Path: p, To: o})
	g.outside[o] = g.removeTree(p)
	if g.r.IntN(2) == 0 {
		g.moveBackIn(time.Duration(g.r.IntN(3))*time.Millisecond, o)
	}
}

func (g *gen) moveIn() {
	names := make([]string, 0, len(g.outside))
	for o := range g.outside {
		names = append(names, o)
	}
	slices.Sort(names)
	o, ok := g.pick(names)
	if !ok {
		g.moveOut()
		return
	}
	g.moveBackIn(g.pause(), o)
}

// moveBackIn moves the outside item o back below the root, under a new
// name.
func (g *gen) moveBackIn(d time.Duration, o string) {
	sub := g.outside[o]
	h := 1
	for rel := range sub {
		h = max(h, depth(rel)+1)
	}
	to := join(g.pickDir(maxDepth-h, ""), g.name(sub[""].dir))
	g.emit(d, Op{Kind: MoveIn, Path: o, To: to})
	delete(g.outside, o)
	g.addTree(to, sub)
}

// recreate: create, delete and create again under the same name.
func (g *gen) recreate() {
	p := join(g.pickDir(maxDepth-1, ""), g.name(false))
	g.write(g.pause(), Create, p)
	g.emit(time.Duration(g.r.IntN(3))*time.Millisecond, Op{Kind: Remove, Path: p})
	delete(g.tree, p)
	g.write(time.Duration(g.r.IntN(3))*time.Millisecond, Create, p)
}

// dirToFileAndBack: a directory replaced by a file of the same name, and
// a moment later by a directory again, with a file in it.
func (g *gen) dirToFileAndBack() {
	if g.opts.NoDirToFile {
		g.mkdirP()
		return
	}
	p, ok := g.pick(g.paths(func(q string, e entry) bool { return e.dir && depth(q) < maxDepth }))
	if !ok {
		g.mkdirP()
		return
	}
	g.emit(g.pause(), Op{Kind: RemoveAll, Path: p})
	g.removeTree(p)
	g.write(0, Create, p)
	g.emit(g.moment(), Op{Kind: Remove, Path: p})
	delete(g.tree, p)
	g.emit(0, Op{Kind: Mkdir, Path: p})
	g.tree[p] = entry{dir: true}
	g.write(0, Create, join(p, g.name(false)))
}

func (g *gen) burst() {
	d := g.pickDir(burstDepth, "")
	if g.r.IntN(2) == 0 {
		d = join(d, g.name(true))
		g.emit(g.pause(), Op{Kind: Mkdir, Path: d})
		g.tree[d] = entry{dir: true}
	}
	g.seq++
	op := Op{Kind: Burst, Path: d, To: fmt.Sprintf("b%d_", g.seq), Count: 50 + g.r.IntN(251), Size: g.r.Int64N(2048)}
	g.emit(g.pause(), op)
	for j := range op.Count {
		g.setFile(join(d, op.BurstName(j)), op.Size+int64(j))
	}
}

// excludedTopDir makes the excluded top directory with a file in it, or
// moves something into or out of it.
func (g *gen) excludedTopDir() {
	top := g.opts.ExcludeTopDir
	if top == "" {
		g.create()
		return
	}
	if _, ok := g.tree[top]; !ok {
		d := join(top, g.name(true))
		f := join(d, g.name(false))
		s := g.r.Int64N(4096)
		g.emit(g.pause(), Op{Kind: MkdirAll, Path: d, Files: []string{f}, Size: s})
		g.tree[top], g.tree[d] = entry{dir: true}, entry{dir: true}
		g.setFile(f, s)
		return
	}
	if g.r.IntN(2) == 0 {
		p, ok := g.pickEntry()
		if !ok || below(top, p) || g.height(p) >= maxDepth {
			g.create()
			return
		}
		g.rename(g.pause(), p, join(top, g.name(g.tree[p].dir)))
		return
	}
	p, ok := g.pick(g.paths(func(q string, _ entry) bool { return q != top && below(q, top) }))
	if !ok {
		g.create()
		return
	}
	g.rename(g.pause(), p, g.name(g.tree[p].dir))
}

package confxml

import (
	"regexp"
	"time"
)

// Config is everything sersync2 reads from a confxml.xml file. It is a plain
// value: Load fills it (defaults, then the file, then validation) and nothing
// changes it afterwards. Downstream packages receive the sub-struct they need.
type Config struct {
	// Path is the file the configuration was read from.
	Path string

	Host       Host
	Debug      bool // <debug start="true">
	XFS        bool // <fileSystem xfs="true">
	Filter     Filter
	Inotify    Inotify
	Sersync    Sersync
	Command    CommandPlugin    // <plugin name="command">
	Socket     SocketPlugin     // <plugin name="socket">
	RefreshCDN RefreshCDNPlugin // <plugin name="refreshCDN">

	// Warnings lists what Load accepted but an operator should know about
	// (unknown elements, values the original would have misread, ...). Each
	// names the element it concerns.
	Warnings []string

	// checks holds, per <head>-level plugin block, the problems Load found
	// in it; they only count when that plugin is selected (ValidatePlugin).
	checks map[string]*pluginCheck
}

// Host is <host hostip=… port=…>. The original only prints it.
type Host struct {
	IP   string
	Port string // verbatim; printed through atoi as the original does
}

// Filter is the real-time exclude list, <filter start=…><exclude expression=…/>.
type Filter struct {
	Enabled bool
	// Exclude holds the expressions as written, in document order.
	Exclude []string
	// Regexps holds Exclude compiled, anchored at both ends (full match, as
	// the original's regex_match): "^(?ms:" + expr + ")$". The s and m flags
	// give Boost's defaults ("." matches a newline, ^ and $ match at line
	// breaks inside the string). Go's RE2 syntax: no backreferences or
	// lookaround.
	Regexps []*regexp.Regexp
	// SyncDotfiles (attribute syncDotfiles="true", ours) turns off the
	// original's built-in skip of names starting with "." or ending in "~"
	// and of "4913", so dotfiles are replicated in real time.
	SyncDotfiles bool
}

// Inotify holds the eight <inotify> toggles; each is on only for the exact
// value "true".
type Inotify struct {
	Delete       bool
	CreateFolder bool
	CreateFile   bool
	CloseWrite   bool
	MoveFrom     bool
	MoveTo       bool
	Attrib       bool
	Modify       bool
}

// Sersync is the <sersync> section: what to watch and where to push it.
type Sersync struct {
	// LocalPaths holds every <localpath>, in document order. The original
	// uses only the first; we watch them all.
	LocalPaths []LocalPath
	Rsync      Rsync
	FailLog    FailLog
	Crontab    Crontab
	Plugin     PluginSwitch
}

// LocalPath is one watch root and the remotes it is pushed to.
type LocalPath struct {
	// Watch is the absolute watch directory with one trailing slash removed,
	// as the original did ("/data/" -> "/data"). "/" stays "/".
	Watch string
	// Remotes holds every <remote>, in document order, then every
	// <localtarget>, in document order.
	Remotes []Remote
}

// Remote is one <remote ip=… name=…>: an rsync daemon module (ip::name) or,
// with ssh on, a remote path (ip:name); or one <localtarget dir=…> (ours):
// a directory on this host (a second disk, an NFS mount), copied to by a
// local rsync.
type Remote struct {
	IP   string
	Name string
	// Dir is the clean absolute directory of a local target; IP and Name
	// are then empty. <auth>, <userDefinedPort> and <ssh> do not apply to
	// it.
	Dir string
}

// Local reports whether r is a local target (<localtarget>).
func (r Remote) Local() bool { return r.Dir != "" }

// Rsync holds the <rsync> options shared by every remote.
type Rsync struct {
	// CommonParams is <commonParams params=…> verbatim, Params the same split
	// into words as the shell did (quotes honoured, never globbed).
	CommonParams string
	Params       []string
	Auth         Auth
	Port         Port
	Timeout      Timeout
	SSH          SSH
}

// Auth is <auth start users passwordfile>.
type Auth struct {
	Enabled      bool
	Users        string
	PasswordFile string
}

// Port is <userDefinedPort start port>.
type Port struct {
	Enabled bool
	Port    int
}

// Timeout is <timeout start time> (seconds).
type Timeout struct {
	Enabled bool
	Seconds int
}

// SSH is <ssh start>: push over a remote shell instead of to a daemon.
type SSH struct {
	Enabled bool
	// Command (attribute command=…, ours) replaces the plain "ssh" given to
	// rsync -e, e.g. "ssh -p 2222 -i /root/.ssh/mirror". Empty means "ssh".
	Command string
}

// FailLog is <failLog path timeToExecute>.
type FailLog struct {
	Path string
	// Interval is timeToExecute minutes (empty attribute: 120 minutes).
	Interval time.Duration
}

// Crontab is <crontab start schedule> with its <crontabfilter>.
type Crontab struct {
	Enabled bool
	// Schedule is the period (schedule minutes; <= 0 or not a number: 600 minutes).
	Schedule      time.Duration
	FilterEnabled bool
	// Exclude holds rsync filter patterns (globs, not regexes), as written.
	Exclude []string
}

// PluginSwitch is <sersync><plugin start name>: the plugin run after each sync.
type PluginSwitch struct {
	Enabled bool
	Name    string // "command", "socket" or "refreshCDN"
}

// CommandPlugin is <plugin name="command">.
type CommandPlugin struct {
	Present       bool // a <plugin name="command"> block exists
	Prefix        string
	Suffix        string
	IgnoreError   bool
	FilterEnabled bool
	Include       []string
	Regexps       []*regexp.Regexp // Include compiled as Filter.Regexps (full match)
}

// SocketPlugin is <plugin name="socket">.
type SocketPlugin struct {
	Present bool
	Watch   string // verbatim, trailing slash kept, as the original
	IP      string
	Port    int
}

// RefreshCDNPlugin is <plugin name="refreshCDN">.
type RefreshCDNPlugin struct {
	Present     bool
	Watch       string // one trailing slash removed
	DomainName  string
	Port        int
	Username    string
	Passwd      string
	BaseURL     string
	Regex       bool
	Match       string
	MatchRegexp *regexp.Regexp // compiled when Regex is on: "(?ms:" + Match + ")", search semantics
}

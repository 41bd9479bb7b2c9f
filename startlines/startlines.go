// Package startlines writes the lines the original sersync2 printed on
// stdout: its -h text, and while it started the configuration summary,
// the <sersync> and thread lines, the -r command and the watched paths,
// word for word, so that
// scripts and log watchers written for the old binary keep working. The
// golden files under testdata/cli pin them. It prints; it decides nothing.
package startlines

import (
	"fmt"
	"io"
	"time"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/replicate"
)

// Header writes the original's lines about the configuration, after it
// was parsed: host, filter, delete and createFile toggles, debug, xfs.
func Header(w io.Writer, cfg confxml.Config) {
	fmt.Fprintf(w, "host ip : %s\thost port: %d\n", cfg.Host.IP, cfg.Host.PortNumber())
	if cfg.Filter.Enabled {
		fmt.Fprintln(w, "now the filter work ,if you set the crontab,you have to set crontab filter ")
	}
	if !cfg.Inotify.Delete {
		fmt.Fprintln(w, "will ignore the inotify delete event")
	}
	if cfg.Inotify.CreateFile {
		fmt.Fprintln(w, "will ignore the inotify createFile event ")
	}
	if cfg.Debug {
		fmt.Fprintln(w, "Open debug, you will see debug infomation ")
	}
	if cfg.XFS {
		fmt.Fprintln(w, "WARNING XFS FILE SYSTEM WORK")
	}
}

// Start writes the original's lines between the configuration summary
// and the start of watching: the plugin-only mode's line, or the
// <sersync> settings, the thread counts and, with -r (syncAll), the full
// sync command announced as the original did; the socket plugin's line.
func Start(w io.Writer, cfg confxml.Config, mode string, threads int, syncAll bool, maxDelete int) error {
	switch mode {
	case "refreshCDN":
		fmt.Fprintln(w, "启动刷新CDN模块")
	case "socket":
		fmt.Fprintln(w, "启动SOCKET接口")
	case "command":
		fmt.Fprintln(w, "start command interface")
	default:
		sersyncLines(w, cfg, threads, len(cfg.WatchRoots("")[0].Remotes))
		if syncAll {
			plan, err := replicate.Plan(cfg, maxDelete)
			if err != nil {
				return err
			}
			fmt.Fprintln(w, "------------------------------------------")
			fmt.Fprintln(w, "rsync the directory recursivly to the remote servers once")
			fmt.Fprintln(w, "working please wait...")
			// The original's redirect when debug is off: the full sync's
			// output does not reach the console then (rsync's error text
			// goes to our log if it fails).
			redir := " >/dev/null 2>&1 "
			if cfg.Debug {
				redir = ""
			}
			for i, c := range plan {
				if i == 0 {
					fmt.Fprintln(w, "execute command: "+c.FullAnnounced+redir)
				}
				if cfg.Debug {
					fmt.Fprintln(w, "crontab command:"+c.FullAnnounced)
				}
			}
		}
	}
	if mode == "socket" || mode == "" && cfg.Sersync.Plugin.Enabled && cfg.Sersync.Plugin.Name == "socket" {
		fmt.Fprintf(w, "监控路径: %s  ip:  %s 端口号: %d\n", cfg.Socket.Watch, cfg.Socket.IP, cfg.Socket.Port)
	}
	return nil
}

// sersyncLines writes the original's lines about the <sersync>
// settings and its threads (its start-up step 13).
func sersyncLines(w io.Writer, cfg confxml.Config, threads, remotes int) {
	s := cfg.Sersync
	if s.Crontab.Enabled {
		fmt.Fprintf(w, "Start the crontab \tEvery %d minutes rsync all the files to the remote servers entirely\n", int(s.Crontab.Schedule/time.Minute))
		if s.Crontab.FilterEnabled {
			fmt.Fprintln(w, "开启crontab过滤功能:\t作整体同步的时候会对如下文件进行过滤")
			for _, e := range s.Crontab.Exclude {
				fmt.Fprintln(w, e)
			}
		}
		if cfg.Filter.Enabled && len(cfg.Filter.Exclude) > 0 && (!s.Crontab.FilterEnabled || len(s.Crontab.Exclude) == 0) {
			// The original switched crontab off here, with five lines
			// saying so. It stays on: its full syncs leave out what the
			// filter excludes.
			fmt.Fprintln(w, "************************WARNING***********************************")
			fmt.Fprintln(w, "crontab stays on: its full syncs leave out the paths the <filter> excludes (they are neither sent nor deleted)")
		}
	}
	if s.Rsync.Auth.Enabled {
		fmt.Fprintln(w, "use rsync password-file :")
		fmt.Fprintln(w, "user is\t"+s.Rsync.Auth.Users)
		fmt.Fprintln(w, "passwordfile is \t"+s.Rsync.Auth.PasswordFile)
	}
	if s.Plugin.Enabled {
		fmt.Fprintln(w, "after each synchronize run the plugin \tplugin name is: "+s.Plugin.Name)
	}
	fmt.Fprintln(w, "config xml parse success")
	fmt.Fprintln(w, "please set /etc/rsyncd.conf max connections=0 Manually")
	fmt.Fprintf(w, "sersync working thread %d  = 1(primary thread) + 1(fail retry thread) + %d(daemon sub threads) \n", threads+2, threads)
	fmt.Fprintf(w, "Max threads numbers is: %d = %d(Thread pool nums) + %d(Sub threads)\n", 2+threads+remotes*threads, threads+2, remotes*threads)
	fmt.Fprintln(w, "please according your cpu ，use -n param to adjust the cpu rate")
}

// Watching writes the original's lines just before the watches are added
// (their debug lines follow): "run the sersync:" and one "watch path is:"
// line per root, the first as the plugin configured it when the plugin
// takes over the first watch. Plugin-only mode writes none.
func Watching(w io.Writer, cfg confxml.Config, mode string) {
	if mode != "" {
		return
	}
	fmt.Fprintln(w, "run the sersync: ")
	for i, r := range cfg.WatchRoots("") {
		p := r.Watch
		if i == 0 && cfg.Sersync.Plugin.TakesOverWatch() {
			p = cfg.PluginWatch(cfg.Sersync.Plugin.Name) // as configured: the socket plugin's trailing "/" stays
		}
		fmt.Fprintln(w, "watch path is: "+p)
	}
}

// help is the original's -h output, byte for byte.
const help = `_______________________________________________________
参数-d:启用守护进程模式
参数-r:在监控前，将监控目录与远程主机用rsync命令推送一遍
c参数-n: 指定开启守护线程的数量，默认为10个
参数-o:指定配置文件，默认使用confxml.xml文件
参数-m:单独启用其他模块，使用 -m refreshCDN 开启刷新CDN模块
参数-m:单独启用其他模块，使用 -m socket 开启socket模块
参数-m:单独启用其他模块，使用 -m http 开启http模块
不加-m参数，则默认执行同步程序
________________________________________________________________
`

// Help writes the original's -h lines and a blank line.
func Help(w io.Writer) {
	fmt.Fprint(w, help)
	fmt.Fprintln(w)
}

package replicate

import (
	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/inotifymask"
	"github.com/sersync-go/sersync2/queue"
	"github.com/sersync-go/sersync2/rsyncexec"
)

// Commands are the rsync command lines the engine runs for one remote of
// one root, in the sh form the original printed (rsyncexec.Shell).
type Commands struct {
	Root, Remote string
	// Update and Remove are the lines for a change of dir/file.txt.
	Update, Remove string
	// Full is the full sync (-r, crontab, overflow); FullAnnounced is the
	// same as the original printed it at -r, without the records of
	// excluded paths on stdin (they are found when it runs).
	Full, FullAnnounced string
}

// Plan returns the commands of every remote of every watched root of cfg in
// sync mode, in configuration order, for --check and the original's -r
// lines. It runs nothing and reads no directory.
func Plan(cfg confxml.Config, maxDelete int) ([]Commands, error) {
	exclude, err := inotifymask.Excluder(cfg.Filter)
	if err != nil {
		return nil, err
	}
	sample := []queue.Entry{{Path: "dir/file.txt"}}
	var out []Commands
	for _, lp := range cfg.WatchRoots("") {
		for _, r := range lp.Remotes {
			t := target(cfg, lp.Watch, r, exclude, maxDelete)
			up, rm, full := rsyncexec.UpdateCommand(t, sample), rsyncexec.RemoveCommand(t, sample), rsyncexec.FullCommand(t, nil)
			out = append(out, Commands{Root: lp.Watch, Remote: rsyncexec.Destination(t), Update: up.String(), Remove: rm.String(), Full: full.String(),
				FullAnnounced: rsyncexec.Shell(full.Argv, full.Dir, nil)})
		}
	}
	return out, nil
}

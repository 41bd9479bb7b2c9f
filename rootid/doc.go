// Package rootid tells whether a watch root is still the file system it
// was when it was first watched. It records each root's identity (the file
// system it lives on and whether the root directory is itself a mount
// point) in a file of the state directory, and compares what is at the
// root's path with that record: a root that is no longer that file system
// (the bare directory of an unmounted mount point, another file system, or
// nothing) is absent, and nothing may be synced from it, since a full sync
// with --delete from an empty mount point empties the mirror.
//
// The identity must survive a reboot of the same disk, when device numbers
// may change: it is the statfs f_fsid (derived from the file system's UUID
// on ext4 and btrfs), the UUID from /dev/disk/by-uuid when udev provides
// it, the file system type, and for file systems without an f_fsid (NFS)
// the mount source. docs/safety.md has the table of what each file system
// gives. Any doubt counts as absent, never as present.
//
// It knows nothing of rsync or inotify: the engine asks it before every
// rsync run and the watcher asks it while it polls the roots. Identities
// can only be taken on Linux; elsewhere every root counts as present.
package rootid

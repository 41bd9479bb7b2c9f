// Package instance keeps one sersync2 per configuration file, with an
// flock on a lock file named for the file (symbolic links resolved), and
// writes the --pidfile. Both files live where other users may write, so
// neither is opened through a symbolic link or used unless it is a regular
// file of this process's user.
package instance

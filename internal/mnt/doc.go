// Package mnt mounts file systems under a test's temporary directory:
// a tmpfs, a ramfs, a bind mount, or a loop-mounted ext4 image that can be
// unmounted and mounted again as the same file system. Every mount is
// undone in the test's cleanup. A test that cannot mount (not root, no
// mkfs.ext4, no loop device) is skipped with the reason, and fails
// instead under SERSYNC_TEST_NO_SKIP=1.
package mnt

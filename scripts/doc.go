// Package scripts holds no code: the shell scripts the Makefile runs
// (apt-install.sh, need-go.sh). Its tests run them with stand-ins for
// apt-get, dpkg-query and go.
package scripts

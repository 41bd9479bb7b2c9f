#!/bin/sh
# need-go.sh GO: exit 0 when the go command GO is there and new enough for
# go.mod; otherwise say how to get it and exit 1.
set -eu
go=${1:-go}
want=$(sed -n 's/^go \([0-9.]*\)$/\1/p' go.mod)
if ! command -v "$go" >/dev/null 2>&1; then
	cat >&2 <<MSG
Go $want or later is needed and "$go" is not in PATH.
  Debian's golang-go is older than that: get the tarball from https://go.dev/dl/
  (tar -C /usr/local -xzf go$want.linux-amd64.tar.gz; PATH=\$PATH:/usr/local/go/bin),
  or with any Go >= 1.21 in PATH run: GOTOOLCHAIN=go$want+auto make ...
MSG
	exit 1
fi
have=$("$go" env GOVERSION | sed 's/^go//')
older=$(printf '%s\n%s\n' "$have" "$want" | sort -V | head -n1)
if [ "$older" != "$want" ] && [ "$have" != "$want" ]; then
	case "$("$go" env GOTOOLCHAIN)" in
	local*)
		echo "Go $want or later is needed; $go is $have and GOTOOLCHAIN=local forbids fetching it: run GOTOOLCHAIN=go$want+auto make ..., or install it from https://go.dev/dl/" >&2
		exit 1 ;;
	esac
fi
exit 0

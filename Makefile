# sersync2 — build, test, demo, bench. `make help` lists the targets.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
# -buildvcs=auto: the revision goes into the binary (--version,
# sersync2_build_info) whenever git can tell it, whatever GOFLAGS says.
BUILDFLAGS := -trimpath -buildvcs=auto
BIN      := ./sersync2
# make deb and make rpm build into BUILD; the package version is VERSION
# made a Debian and RPM version: a tag v1.2.3 gives 1.2.3, anything else
# 0~git.<describe> (both sort it before any release).
BUILD    ?= build
GOARCH   ?= $(shell $(GO) env GOARCH)
PKG_VERSION ?= $(shell echo '$(VERSION)' | sed -E '/^v?[0-9]+\./!s/^/0~git./; s/^v//; s/-/./g')
MAINTAINER  ?= sersync2 maintainers <sersync2-maintainers@users.noreply.github.com>
FUZZTIME ?= 15s
# make stress: how many seeded random sequences, how many ops each, how
# many cases at once.
STRESS_SEEDS    ?= 200
STRESS_OPS      ?= 200
STRESS_PARALLEL ?= 4
# STRESS_WATCHER=inotify|fanotify runs every sequence on that backend
# (default: each variant's seeds alternate between both).
STRESS_WATCHER  ?=
# make bench writes its results here; bench/results/local is not tracked, so
# a run never rewrites the committed results (BENCH_RESULTS=bench/results
# to record a run for docs/benchmarks.md).
BENCH_RESULTS ?= bench/results/local
# Debian packages the tests and the demo need (chromium: the status page
# test; prometheus: promtool checks the alerting rules; dash and bash run the
# failLog as an operator would; tcsh and fish: login shells that are not
# POSIX sh for the remote renames over ssh; rpm and logrotate check the
# packages and the log rotation; e2fsprogs makes the file systems the
# data-safety tests mount); bench adds the peers.
DEB_TEST  := rsync dash bash tcsh fish openssh-server openssh-client chromium prometheus systemd rpm logrotate e2fsprogs
DEB_BENCH := lsyncd inotify-tools

.PHONY: all build deps deps-bench test vet lint unit e2e cross fuzz stress demo bench deb rpm clean help

all: build

help:
	@echo "make build   - build ./sersync2 (version $(VERSION))"
	@echo "make deps    - install what the tests need from Debian's packages (rsync, sshd, chromium, promtool, systemd-analyze)"
	@echo "make test    - vet, gofmt, staticcheck, go mod tidy check, go test -race ./..., darwin build"
	@echo "make demo    - live replication to a local rsync daemon on 127.0.0.1"
	@echo "make fuzz    - run every fuzz target for FUZZTIME ($(FUZZTIME)) each"
	@echo "make stress  - random end-to-end stress: STRESS_SEEDS ($(STRESS_SEEDS)) seeded sequences of STRESS_OPS ($(STRESS_OPS)) file ops each"
	@echo "make deb     - build $(BUILD)/sersync2_$(PKG_VERSION)_$(GOARCH).deb with nfpm (binary, stock confxml.xml, units, man page, scripts)"
	@echo "make rpm     - the same as an RPM, from the same nfpm.yaml"
	@echo "make bench   - micro-benchmarks, then sersync2 vs lsyncd and an inotifywait loop, W1-W7 and the scale cases (BENCH_QUICK=1: about 6 min)"

# build makes the binary the .deb ships: static, no cgo (no libc mapped,
# so less resident memory, see docs/benchmarks.md; the pure-Go resolver
# and user lookup).
build:
	CGO_ENABLED=0 $(GO) build $(BUILDFLAGS) -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/sersync2

# deps installs missing Debian packages (starting none of their services)
# and says how to get Go when it is missing or too old for go.mod.
deps:
	@./scripts/need-go.sh $(GO)
	@./scripts/apt-install.sh $(DEB_TEST)
	$(GO) mod download

deps-bench: deps
	@./scripts/apt-install.sh $(DEB_BENCH)

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# staticcheck is a tool dependency in go.mod (go get -tool), run by go tool.
lint: vet
	$(GO) tool staticcheck ./...
	$(GO) tool staticcheck -tags sersync_fsnotify ./inotifymask
	@cp go.mod /tmp/sersync2.go.mod.bak; cp go.sum /tmp/sersync2.go.sum.bak; \
	  $(GO) mod tidy; \
	  if ! cmp -s go.mod /tmp/sersync2.go.mod.bak || ! cmp -s go.sum /tmp/sersync2.go.sum.bak; then \
	    echo "go.mod/go.sum are not tidy (run go mod tidy)"; cp /tmp/sersync2.go.mod.bak go.mod; cp /tmp/sersync2.go.sum.bak go.sum; exit 1; fi

cross:
	GOOS=darwin $(GO) build ./...
	GOOS=freebsd $(GO) build ./...

# unit + end-to-end: the e2e suites build the binary themselves and run it
# against real rsync daemons on 127.0.0.1.
# The fsnotify backend is not in the Linux binary; its contract tests run
# here with -tags sersync_fsnotify.
unit:
	SERSYNC_TEST_NO_SKIP=$${SERSYNC_TEST_NO_SKIP:-1} $(GO) test -race -count=1 -timeout 20m ./...
	SERSYNC_TEST_NO_SKIP=$${SERSYNC_TEST_NO_SKIP:-1} $(GO) test -race -count=1 -timeout 5m -tags sersync_fsnotify ./inotifymask

test: lint cross unit

fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

# stress: the seeded random end-to-end suite (cmd/sersync2/stress_test.go)
# with many seeds; make test runs its fixed set (seeds 1-12, 150 ops).
# The full log goes to a temp file; what is printed is every failure (seed,
# variant, op list, replay command) and the summary line.
stress:
	@log=$$(mktemp /tmp/sersync2-stress.XXXXXX); echo "full log: $$log"; \
	  STRESS_SEEDS=$(STRESS_SEEDS) STRESS_OPS=$(STRESS_OPS) STRESS_WATCHER=$(STRESS_WATCHER) $(GO) test -race -count=1 -timeout 0 \
	    -parallel $(STRESS_PARALLEL) -run '^TestStress' -v ./cmd/sersync2 >$$log 2>&1; rc=$$?; \
	  grep -vE '^ *(=== (RUN|PAUSE|CONT|NAME)|--- PASS)' $$log; exit $$rc

demo: build
	$(GO) run ./internal/demo -bin $(BIN)

# bench: Go micro-benchmarks of the hot paths (event decode, queue merge,
# argv build; benchstat-friendly, also saved in $(BENCH_RESULTS)), then the
# side-by-side harness against lsyncd and an inotifywait+rsync loop
# (bench/, table on stdout, JSON lines in $(BENCH_RESULTS)): W1-W7, then
# the scale cases (WAN through a 50 ms delay proxy, FAN to 20 daemons,
# DIRS: start-up on 1,000,000 directories, which needs about 7M free
# inodes and raises fs.inotify.max_user_watches while it runs). About
# 45 min; BENCH_QUICK=1 make bench: smaller workloads, about 6 min.
# Select with BENCH_ARGS, e.g. BENCH_ARGS='-workloads FAN -tools sersync2'.
bench: build deps-bench
	@mkdir -p $(BENCH_RESULTS)
	@if [ "$${BENCH_QUICK:-0}" != 0 ]; then set -- 1 100ms 'Decode|Pipeline|WatchSetup/dirs=10000$$' quick; \
	  else set -- 3 300ms . full; fi; \
	  out=$(BENCH_RESULTS)/$$(date +%F)-$$(uname -n)-micro-$$4.txt; \
	  { $(GO) test -run '^$$' -bench . -benchmem -count $$1 -benchtime $$2 ./queue ./rsyncexec && \
	    $(GO) test -run '^$$' -bench "$$3" -benchmem -count 1 -benchtime $$2 ./inotifymask; \
	    echo $$? > $$out.rc.tmp; } 2>&1 | tee $$out; \
	  rc=$$(cat $$out.rc.tmp); rm -f $$out.rc.tmp; exit $$rc
	$(GO) run ./bench -bin $(BIN) -results $(BENCH_RESULTS) $(BENCH_ARGS)

# deb and rpm: the binary, the man page generated from its flags, then nfpm
# (a go tool dependency) packs them with the stock confxml.xml, the units
# and the maintainer scripts, from one packaging/nfpm.yaml.
deb rpm:
	@mkdir -p $(BUILD)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build $(BUILDFLAGS) -ldflags "$(LDFLAGS)" -o $(BUILD)/sersync2 ./cmd/sersync2
	$(GO) run $(BUILDFLAGS) -ldflags "$(LDFLAGS)" ./cmd/sersync2 --man | gzip -9n > $(BUILD)/sersync2.8.gz
	sed 's|$${BUILD}|$(BUILD)|g' packaging/nfpm.yaml > $(BUILD)/nfpm.yaml
	GOARCH=$(GOARCH) PKG_VERSION=$(PKG_VERSION) MAINTAINER='$(MAINTAINER)' $(GO) tool nfpm package -f $(BUILD)/nfpm.yaml -p $@ -t $(BUILD)/

clean:
	rm -f $(BIN)
	rm -rf build

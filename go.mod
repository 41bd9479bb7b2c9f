module github.com/sersync-go/sersync2

go 1.26.8

require (
	github.com/beevik/etree v1.8.1
	github.com/fsnotify/fsnotify v1.10.1
	github.com/spf13/pflag v1.0.10
	golang.org/x/sys v0.49.0
)

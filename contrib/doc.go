// Package contrib holds no code: its directories are files for
// operators (systemd units, Prometheus alerting rules and a scrape job),
// and its tests check them with the tools that read them.
package contrib

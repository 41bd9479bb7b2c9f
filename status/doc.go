// Package status shows an operator how far behind each mirror is and why,
// from the engine's state snapshot (replicate.State) and nothing else:
// Prometheus metrics at /metrics, the same facts as JSON at /status, a
// small self-refreshing HTML page at / with an hour of lag and throughput
// per remote, and the same facts as a text file rewritten every few
// seconds for hosts without a scraper.
//
// It reads the state; it never changes it, and it holds no pipeline
// logic. By default it listens on loopback addresses only (CheckAddr) and
// there answers only requests addressed to a loopback name; it can ask
// every request for a bearer token (ReadToken, Options.Token). Its
// timeouts and connection cap keep clients from holding it. Open takes the
// address before the engine starts; Start serves it once the engine runs.
//
// It also reads a running instance's pending paths back, from its status
// server or its status file, and prints them (FetchPending,
// ReadPendingFile, WritePending) for `sersync2 --pending`.
package status

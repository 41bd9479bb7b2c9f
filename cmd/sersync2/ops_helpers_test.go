package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/internal/rsyncd"
	"github.com/sersync-go/sersync2/status"
)

var statusListening = regexp.MustCompile(`msg="status server listening" addr=(\S+)`)

// statusAddr waits for the status server's address in the log.
func (p *proc) statusAddr(t *testing.T) string {
	t.Helper()
	var addr string
	poll.Until(t, 30*time.Second, "the status server address in the log", func() (bool, string) {
		m := statusListening.FindStringSubmatch(p.stderr.String())
		if m == nil {
			return false, ""
		}
		addr = m[1]
		return true, ""
	})
	return addr
}

func httpGet(addr, path string) (string, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return string(b), nil
}

// metrics scrapes /metrics and parses it with Prometheus' text parser.
type metrics map[string]*dto.MetricFamily

func scrape(t *testing.T, addr string) metrics {
	t.Helper()
	body, err := httpGet(addr, "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	m, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	return m
}

// value returns the value of the metric name whose labels include all of
// labels (name=value pairs), and whether there is one.
func (m metrics) value(name string, labels ...string) (float64, bool) {
	f := m[name]
	if f == nil {
		return 0, false
	}
next:
	for _, x := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range x.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case x.Counter != nil:
			return x.GetCounter().GetValue(), true
		case x.Gauge != nil:
			return x.GetGauge().GetValue(), true
		case x.Untyped != nil:
			return x.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

// getStatus fetches /status and decodes it strictly: a field the
// document has and status.Report does not is an error.
func getStatus(t *testing.T, addr string) (status.Report, map[string]any) {
	t.Helper()
	r, raw, _ := statusAt(t, addr, "/status")
	return r, raw
}

// statusAt GETs path (/status with a query) and decodes it strictly; it
// also returns the body as it came.
func statusAt(t *testing.T, addr, path string) (status.Report, map[string]any, string) {
	t.Helper()
	body, err := httpGet(addr, path)
	if err != nil {
		t.Fatal(err)
	}
	var r status.Report
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, body)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	return r, raw, body
}

// confFor starts an authenticated rsync daemon and writes a confxml.xml
// replicating a new, empty src directory to its module "www"; it returns
// the working directory, src and the file.
func confFor(t *testing.T) (work, src, conf string) {
	t.Helper()
	d := rsyncd.StartT(t, rsyncd.Options{Auth: true})
	work = t.TempDir()
	src = filepath.Join(work, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	conf = writeConf(t, work, confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: d.IP, Name: "www"}}}},
		Users: d.User, PasswordFile: d.PasswordFile, Port: d.Port})
	return work, src, conf
}

package status

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"
)

// refreshSeconds is how often the page reloads itself.
const refreshSeconds = 5

// pageRemote is one row of the page.
type pageRemote struct {
	RemoteReport
	Name          string
	Lag, LastSync string
	// LastError is the last failure in one line (time, exit code and
	// meaning); LastErrorFull its whole text, shown on hover and in the
	// list of recent errors.
	LastError, LastErrorFull string
	LagChart, Through        template.HTML
	State                    string // "ok", "behind", "failing"
	PendingTotal             int    // paths pending or in flight
}

type pageData struct {
	Report
	Refresh  int
	Uptime   string
	Rows     []pageRemote
	Watching string
}

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{"plural": plural, "show": ShowPath, "seconds": seconds}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{{.Refresh}}">
<title>sersync2 status</title>
<style>
body{font-family:sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.4em .6em;text-align:left;vertical-align:middle}
th{background:#f4f4f4}
.ok{color:#1a7f37}.behind{color:#9a6700}.failing{color:#cf222e;font-weight:bold}
.err{font-family:monospace;font-size:85%;max-width:32em;overflow-wrap:anywhere}
td.err{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:24em;overflow-wrap:normal}
small{color:#666}
td.chart{white-space:nowrap}
td.path{font-family:monospace;white-space:pre;overflow-wrap:anywhere}
</style></head><body>
<h1>sersync2 {{.Version}}</h1>
<p><small>updated {{.Time.Format "2006-01-02 15:04:05 MST"}}, up {{.Uptime}}, refreshes every {{.Refresh}} s.
Watching {{.Watching}}; {{plural .Watches "directory" "directories"}} watched of {{if .MaxUserWatches}}{{.MaxUserWatches}}{{else}}?{{end}} allowed;
{{plural .EventsRead "event" "events"}} read; {{plural .Overflows "overflow" "overflows"}}; {{plural .Reloads "reload" "reloads"}}.</small></p>
{{range .AbsentRoots}}<p class="failing absent" data-root="{{.Root}}">Watch root {{.Root}} is absent since {{.Since.Format "2006-01-02 15:04:05"}}: nothing is synced from it. <span class="err">{{.Reason}}</span></p>
{{end}}{{range .AbsentTargets}}<p class="failing absent" data-remote="{{.Remote}}">Local target {{.Remote}} is absent since {{.Since.Format "2006-01-02 15:04:05"}}: nothing is written to it. <span class="err">{{.Reason}}</span></p>
{{end}}<table id="remotes">
<tr><th>root → remote</th><th>state</th><th>lag</th><th>pending</th><th>last sync</th><th>last error</th><th>lag, last hour</th><th>paths/s, last hour</th></tr>
{{range .Rows}}<tr class="remote" data-remote="{{.Remote}}" data-root="{{.Root}}">
<td>{{.Name}}</td><td class="{{.State}}">{{.State}}</td><td class="lag">{{.Lag}}</td>
<td>{{.Pending}}{{if .InFlight}} (+{{.InFlight}} syncing){{end}}{{if .FullSync}} full sync {{.FullSync.Percent}}%, {{.FullSync.Files}} files{{if .FullSync.ETASeconds}}, ETA {{printf "%.0f" .FullSync.ETASeconds}} s{{end}}{{else if .FullPending}} full sync{{end}}</td>
<td>{{.LastSync}}</td><td class="err" title="{{.LastErrorFull}}">{{.LastError}}</td><td class="chart">{{.LagChart}}</td><td class="chart">{{.Through}}</td></tr>
{{end}}</table>
{{range .Rows}}{{if .PendingPaths}}<details class="pending" data-remote="{{.Remote}}" data-root="{{.Root}}"><summary>{{.Name}}: the oldest {{len .PendingPaths}} of {{plural .PendingTotal "path" "paths"}} not synced yet{{if .FullPending}} (a full sync covers them all){{end}}</summary>
<table><tr><th>waiting</th><th>attempts</th><th>path</th></tr>
{{range .PendingPaths}}<tr><td>{{seconds .AgeSeconds}}</td><td>{{.Attempts}}</td><td class="path">{{show .Name}}{{if .Dir}}/{{end}}{{if .Remove}} <small>(removal)</small>{{end}}{{if .InFlight}} <small>(syncing)</small>{{end}}</td></tr>
{{end}}</table></details>
{{end}}{{end}}{{if .LastErrors}}<h2>Recent errors</h2><ul>{{range .LastErrors}}<li><small>{{.At.Format "15:04:05"}}</small> {{.Root}} → {{.Remote}}: <span class="err">{{.Error}}</span></li>{{end}}</ul>{{end}}
<p><small><a href="/status">/status</a> (JSON) · <a href="/metrics">/metrics</a> (Prometheus)</small></p>
</body></html>
`))

func (s *Server) page(w http.ResponseWriter, _ *http.Request) {
	r := s.Report(shownPending)
	d := pageData{Report: r, Refresh: refreshSeconds, Uptime: r.Time.Sub(r.StartedAt).Round(time.Second).String(), Watching: strings.Join(r.Roots, ", ")}
	for _, rr := range r.Remotes {
		s.mu.Lock()
		ps := s.hist.get(rr.Root, rr.Remote)
		s.mu.Unlock()
		// The charts end with the figures shown in the row.
		paths := rr.SyncedPaths
		if rr.Remote == "" {
			paths = rr.PathsTried
		}
		ps = append(ps, point{at: r.Time, lag: rr.LagSeconds, paths: paths})
		lags := make([]float64, len(ps))
		for i, p := range ps {
			lags[i] = p.lag
		}
		row := pageRemote{RemoteReport: rr, Name: rr.Root + " → " + rr.Remote, Lag: seconds(rr.LagSeconds), LastSync: "never",
			LagChart: sparkline(lags, "#9a6700"), Through: sparkline(rates(ps), "#0969da"), State: "ok", PendingTotal: rr.Pending + rr.InFlight}
		if rr.Remote == "" {
			row.Name = rr.Root + " (plugin)"
		}
		if rr.LastSync != nil {
			row.LastSync = fmt.Sprintf("%s ago, %s", r.Time.Sub(rr.LastSync.At).Round(time.Second), plural(rr.LastSync.Paths, "path", "paths"))
		}
		if rr.LastError != nil {
			row.LastError = rr.LastError.At.Format("15:04:05") + " " + rr.LastError.Summary
			row.LastErrorFull = rr.LastError.Error
		}
		switch {
		case rr.Failing:
			row.State = "failing"
		case rr.LagSeconds > 0:
			row.State = "behind"
		}
		d.Rows = append(d.Rows, row)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTmpl.Execute(w, d); err != nil {
		s.log.Debug("status: writing the page", "err", err)
	}
}

// seconds formats a lag for people.
func seconds(v float64) string {
	if v == 0 {
		return "0 s"
	}
	return time.Duration(v * float64(time.Second)).Round(100 * time.Millisecond).String()
}

// sparkline draws vs as a small SVG polyline scaled to its maximum.
func sparkline(vs []float64, color string) template.HTML {
	const w, h = 160.0, 28.0
	if len(vs) == 0 {
		return template.HTML(`<small>no data yet</small>`)
	}
	top := 0.0
	for _, v := range vs {
		top = max(top, v)
	}
	var pts strings.Builder
	for i, v := range vs {
		x := w
		if len(vs) > 1 {
			x = float64(i) * w / float64(len(vs)-1)
		}
		y := h - 1
		if top > 0 {
			y = h - 1 - v/top*(h-2)
		}
		fmt.Fprintf(&pts, "%.1f,%.1f ", x, y)
	}
	// Only numbers and a fixed colour go into the markup.
	return template.HTML(fmt.Sprintf(`<svg class="spark" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f"><polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/></svg> <small>max %.1f</small>`,
		w, h, w, h, color, strings.TrimSpace(pts.String()), top))
}

// plural writes the count n with the singular or plural noun:
// "1 directory", "2 directories". n is any integer type (the template
// passes the report's fields as they are).
func plural(n any, one, many string) string {
	s := fmt.Sprint(n)
	if s == "1" {
		return s + " " + one
	}
	return s + " " + many
}

package serve

import (
	"html/template"
	"net/http"
	"net/url"
	"time"
)

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>exdiag serve</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:left}.fail,.error{color:#b00}.warn{color:#a60}.pass{color:#070}</style>
</head><body>
<h1>exdiag serve</h1>
<p>version {{.Version}} · configuration loaded {{.Reloaded}}{{if .ReloadErr}} · <strong class="error">last reload failed, previous configuration in force: {{.ReloadErr}}</strong>{{end}}</p>
<p><a href="/metrics">/metrics</a> · reload: <code>curl -X POST /-/reload</code> or SIGHUP</p>
<table><tr><th>target</th><th>vantage</th><th>last probe</th><th>status</th><th>took</th><th></th></tr>
{{range .Rows}}<tr><td>{{.Deployment}}</td><td>{{.Vantage}}</td><td>{{.At}}</td><td class="{{.Status}}">{{.Status}}</td><td>{{.Took}}</td>
<td><a href="/probe?{{.Query}}">probe</a> · <a href="/probe?{{.Query}}&amp;debug=true">debug</a></td></tr>
{{end}}</table>
</body></html>
`))

type statusRow struct {
	Deployment, Vantage, At, Status, Took string
	Query                                 template.URL
}

func (s *Service) handleStatus(w http.ResponseWriter, _ *http.Request) {
	s.mu.RLock()
	data := struct {
		Version, Reloaded, ReloadErr string
		Rows                         []statusRow
	}{Version: s.o.Version, Reloaded: s.reloadedAt.UTC().Format(time.RFC3339)}
	if s.reloadErr != nil {
		data.ReloadErr = s.reloadErr.Error()
	}
	for _, t := range s.fleet.Targets {
		q := url.Values{"target": {t.Deployment}}
		if t.Vantage != "" {
			q.Set("vantage", t.Vantage)
		}
		row := statusRow{Deployment: t.Deployment, Vantage: t.Vantage, At: "never", Query: template.URL(q.Encode())}
		if l, ok := s.last[t.Key()]; ok {
			row.At, row.Status, row.Took = l.at.UTC().Format(time.RFC3339), l.status, l.duration.Round(time.Millisecond).String()
		}
		data.Rows = append(data.Rows, row)
	}
	s.mu.RUnlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = statusPage.Execute(w, data)
}

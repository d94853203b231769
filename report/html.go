package report

import (
	"encoding/json"
	"html/template"
	"io"
	"strings"
)

// htmlPage is self-contained: no script, no external style, font or
// image, and a Content-Security-Policy that would refuse them anyway, so a
// hostile server's text stays text even if escaping were ever wrong.
var htmlPage = template.Must(template.New("page").Funcs(template.FuncMap{
	"upper": strings.ToUpper,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>exdiag: {{.Verdict}}</title>
<style>
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 1.5em; color: #1d1d1d; max-width: 70em; }
h1 { font-size: 1.4em; margin-bottom: .2em; }
.meta { color: #555; margin: 0 0 1em 0; }
.status { font-weight: bold; padding: 0 .3em; border-radius: 3px; }
.s-pass { color: #11642b; } .s-warn { color: #8a5a00; } .s-fail, .s-error { color: #b00020; } .s-skip { color: #666; }
svg text { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 13px; }
svg .hop rect { stroke: #888; stroke-width: 1.5; fill: #f4f4f4; }
svg .hop.s-pass rect { fill: #e3f4e8; stroke: #2e8b57; }
svg .hop.s-warn rect { fill: #fff4d6; stroke: #c98a00; }
svg .hop.s-fail rect, svg .hop.s-error rect { fill: #fde4e7; stroke: #b00020; }
svg .hop.first rect { stroke-width: 4; }
svg .first-label { fill: #b00020; font-weight: bold; }
svg line { stroke: #888; stroke-width: 1.5; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: .3em .5em; text-align: left; vertical-align: top; }
.finding { border-left: 4px solid #b00020; padding: .2em .8em; margin: .8em 0; }
.finding.sev-warn { border-color: #c98a00; }
pre { background: #f6f6f6; padding: .5em; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
code { background: #f0f0f0; }
</style>
</head>
<body>
<h1>exdiag: {{.Verdict}}</h1>
<p class="meta">{{.Doc.Target.URI}} · <span class="status s-{{.Doc.Status}}">{{upper .Doc.Status}}</span> exit {{.Doc.ExitCode}} ·
{{.Doc.Summary.Pass}} pass, {{.Doc.Summary.Warn}} warn, {{.Doc.Summary.Fail}} fail, {{.Doc.Summary.Skip}} skip, {{.Doc.Summary.Error}} error</p>

<h2>Path</h2>
<svg id="path" xmlns="http://www.w3.org/2000/svg" width="{{.SVG.Width}}" height="{{.SVG.Height}}" viewBox="0 0 {{.SVG.Width}} {{.SVG.Height}}" role="img" aria-label="request path">
{{- range .SVG.Lines}}
<line x1="{{.X1}}" y1="{{.Y1}}" x2="{{.X2}}" y2="{{.Y2}}"/>
{{- end}}
{{- range .SVG.Boxes}}
<g class="hop s-{{.Hop.Status}}{{if .First}} first{{end}}"{{if .First}} id="failing-hop"{{end}} data-hop="{{.Hop.Hop}}" data-status="{{.Hop.Status}}">
<title>{{.Hop.Text}}: {{.Hop.Status}}{{range .Hop.Codes}} {{.}}{{end}}</title>
<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" rx="6"/>
<text x="{{.TX}}" y="{{.TY}}" text-anchor="middle">{{.Mark}} {{.Label}}</text>
{{- if .Sub}}<text x="{{.TX}}" y="{{.SubY}}" text-anchor="middle" font-size="11">{{.Sub}}</text>{{end}}
{{- if .First}}<text class="first-label" x="{{.TX}}" y="{{.CapY}}" text-anchor="middle">first failure</text>{{end}}
</g>
{{- end}}
</svg>

{{if .Findings}}<h2>Findings</h2>
{{range .Findings}}<div class="finding sev-{{.Severity}}">
<h3><span class="status s-{{.Severity}}">{{upper .Severity}}</span> <code>{{.Code}}</code>{{.On}}</h3>
<p>{{.Summary}}</p>
{{if .Remediation}}<ol>{{range .Remediation}}<li>{{.}}</li>{{end}}</ol>{{end}}
{{if .References}}<p>References: {{range $i, $r := .References}}{{if $i}}, {{end}}<a href="{{$r}}">{{$r}}</a>{{end}}</p>{{end}}
</div>
{{end}}{{end}}
{{- if .Info}}<p>Informational: {{range $i, $c := .Info}}{{if $i}}, {{end}}<code>{{$c}}</code>{{end}}</p>{{end}}

<h2>Checks</h2>
<table>
<tr><th>check</th><th>status</th><th>result</th></tr>
{{range .Checks}}<tr id="check-{{.C.ID}}"><td>{{.C.ID}}</td><td class="status s-{{.C.Status}}">{{upper .C.Status}}</td><td>{{.Line}}
{{if .Evidence}}<details><summary>evidence</summary><pre>{{.Evidence}}</pre></details>{{end}}</td></tr>
{{end}}</table>

<p class="meta">vantage {{.Doc.Vantage.Host}}{{if .Doc.Vantage.Resolvers}} (resolvers {{range $i, $r := .Doc.Vantage.Resolvers}}{{if $i}}, {{end}}{{$r}}{{end}}){{end}} · exdiag {{.Doc.Version}} · started {{.Started}} · {{.Doc.DurationMS}} ms</p>
</body>
</html>
`))

type htmlBox struct {
	Hop                            Hop
	First                          bool
	Mark, Label, Sub               string
	X, Y, W, H, TX, TY, SubY, CapY int
}

type htmlLine struct{ X1, Y1, X2, Y2 int }

type htmlSVG struct {
	Width, Height int
	Boxes         []htmlBox
	Lines         []htmlLine
}

type htmlFinding struct {
	FindingGroup
	On string
}

type htmlCheck struct {
	C        CheckJSON
	Line     string
	Evidence string
}

// Geometry of the path picture: one column per stage, backends stacked.
const (
	boxW, boxH, colGap, rowGap, margin = 150, 44, 36, 14, 10
	captionH                           = 20
)

func renderHTML(w io.Writer, d Doc, o Options) error {
	p := palette{ascii: o.ASCII}
	data := struct {
		Doc      Doc
		Verdict  string
		Started  string
		SVG      htmlSVG
		Findings []htmlFinding
		Info     []string
		Checks   []htmlCheck
	}{Doc: d, Verdict: verdict(d), Started: d.StartedAt.UTC().Format("2006-01-02T15:04:05Z"), SVG: pathSVG(d.Path, p)}
	for _, g := range Grouped(d) {
		if g.Severity == "info" {
			data.Info = append(data.Info, g.Code)
			continue
		}
		data.Findings = append(data.Findings, htmlFinding{g, onTargets(g.Targets)})
	}
	for _, c := range d.Checks {
		hc := htmlCheck{C: c, Line: checkLine(c)}
		if c.Observed != nil {
			// html/template escapes the evidence; JSON's own \u003c would
			// only make it harder to read
			var b strings.Builder
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(c.Observed); err == nil {
				hc.Evidence = strings.TrimSuffix(b.String(), "\n")
			}
		}
		data.Checks = append(data.Checks, hc)
	}
	return htmlPage.Execute(w, data)
}

func pathSVG(path []Hop, p palette) htmlSVG {
	stages := Stages(path)
	rows := 1
	for _, s := range stages {
		rows = max(rows, len(s))
	}
	inner := rows*boxH + (rows-1)*rowGap
	svg := htmlSVG{
		Width:  2*margin + len(stages)*boxW + max(len(stages)-1, 0)*colGap,
		Height: 2*margin + inner + captionH,
	}
	first := FirstFailing(path)
	i := 0
	mid := margin + inner/2
	for col, stage := range stages {
		x := margin + col*(boxW+colGap)
		top := margin + (inner-(len(stage)*boxH+(len(stage)-1)*rowGap))/2
		for row, h := range stage {
			y := top + row*(boxH+rowGap)
			b := htmlBox{Hop: h, First: i == first, Mark: p.mark(h.Status), Label: clip(h.Label, 18),
				X: x, Y: y, W: boxW, H: boxH, TX: x + boxW/2, TY: y + 18, SubY: y + 34, CapY: margin + inner + captionH - 4}
			if h.Hop == "proxy" || h.Hop == "dns" {
				b.Sub = clip(h.Target, 24)
			} else {
				b.TY = y + boxH/2 + 5
			}
			if b.First && row > 0 {
				b.CapY = y + boxH + 14
			}
			svg.Boxes = append(svg.Boxes, b)
			if col > 0 {
				svg.Lines = append(svg.Lines, htmlLine{X1: x - colGap, Y1: mid, X2: x, Y2: y + boxH/2})
			}
			if col < len(stages)-1 {
				svg.Lines = append(svg.Lines, htmlLine{X1: x + boxW, Y1: y + boxH/2, X2: x + boxW + colGap, Y2: mid})
			}
			i++
		}
	}
	return svg
}

// clip shortens s to n runes with an ellipsis; SVG text does not wrap.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

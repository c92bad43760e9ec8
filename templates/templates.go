// Package templates embeds the product's HTML templates, so binaries need no template
// files at run time.
package templates

import (
	"embed"
	"html/template"
)

// FS holds the raw template files.
//
//go:embed *.tmpl
var FS embed.FS

// Report is the self-contained HTML monitoring report: "report.html.tmpl" (the page)
// with the SVG chart template "svg" of "charts.html.tmpl". It needs no template
// functions; report.RenderHTML executes it with a view model of preformatted strings
// and chart geometry.
var Report = template.Must(template.New("report.html.tmpl").ParseFS(FS, "report.html.tmpl", "charts.html.tmpl"))

// Package templates is the home of the product's HTML templates: the monitoring report
// page (report.html.tmpl) and its SVG chart template (charts.html.tmpl). They are
// embedded, so binaries need no template files at run time. Package
// internal/reporthtml renders them: it builds a view model of preformatted strings and
// chart geometry, and the templates only lay it out. See README.md before editing.
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
// functions; reporthtml.Render executes it with a view model of preformatted strings
// and chart geometry (the types of internal/reporthtml/view.go and the files beside it).
var Report = template.Must(template.New("report.html.tmpl").ParseFS(FS, "report.html.tmpl", "charts.html.tmpl"))

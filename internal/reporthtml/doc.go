// Package reporthtml renders a report.Report as one self-contained HTML page with the
// templates of the top-level templates package: view models of preformatted strings
// (view.go and one file per section), SVG chart geometry (svg.go, charts.go, ticks.go)
// and number formatting (format.go).
package reporthtml

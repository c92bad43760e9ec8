package reporthtml

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/templates"
)

// Render writes r as one self-contained HTML page: inline CSS and inline SVG charts,
// no JavaScript and no external resources (a Content-Security-Policy forbids them), so
// the file opens offline and can be mailed or archived as is.
//
// meta fills the header and summary. trend holds earlier runs for the trend charts, in
// any order; when meta.WindowEnd is set and no point has that window end, the current
// report is added as the latest point. A NaN TrendPoint.RMSE means the run had no
// targets and leaves a gap in the RMSE line.
//
// Every value from the report and meta (column names, categories, dataset name…) is
// escaped by html/template. The output is deterministic: the same input gives the same
// bytes. Nothing is written if rendering fails.
func Render(w io.Writer, r *report.Report, meta report.Meta, trend []report.TrendPoint) error {
	if r == nil {
		return errors.New("reporthtml: nil report")
	}
	var buf bytes.Buffer
	if err := templates.Report.Execute(&buf, newView(r, meta, trend)); err != nil {
		return fmt.Errorf("reporthtml: execute template: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("reporthtml: write: %w", err)
	}
	return nil
}

package activities

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"go.temporal.io/sdk/activity"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/report"
)

// TrendLimit is how many earlier runs the HTML report's trend shows at most.
const TrendLimit = 200

// SaveHTMLReport renders the staged report with the trend of the dataset's earlier
// runs (from the result collection, sorted by window end, this window's own earlier
// result left out) plus this run, and writes it atomically (temporary file, then
// rename) to REPORTS_DIR/<dataset>/<dataset>_<start>_<end>.html.
func (a *Activities) SaveHTMLReport(ctx context.Context, in batchapi.SaveHTMLInput) (*batchapi.SaveHTMLResult, error) {
	ds, err := dataset(in.Dataset)
	if err != nil {
		return nil, err
	}
	r, _, err := a.readReport(ctx, in.Report)
	if err != nil {
		return nil, err
	}
	trend, err := a.results().Trend(ctx, ds.Name, batch.ReportID(ds.Name, in.Window), TrendLimit-1)
	if err != nil {
		return nil, err
	}
	trend = append(trend, batch.TrendPointOf(in.Window.End, in.Summary))
	meta := report.Meta{
		Title:        ds.Title + " — batch monitoring",
		Dataset:      ds.Name,
		WorkflowID:   in.WorkflowID,
		RunID:        in.RunID,
		ModelVersion: in.ModelVersion,
		WindowStart:  in.Window.Start.UTC(),
		WindowEnd:    in.Window.End.UTC(),
		GeneratedAt:  in.GeneratedAt.UTC(),
	}
	var buf bytes.Buffer
	if err := a.render()(&buf, r, meta, trend); err != nil {
		return nil, fmt.Errorf("render HTML report: %w", err)
	}
	dir := filepath.Join(a.ReportsDir, ds.Name)
	path, err := writeAtomic(dir, batch.HTMLFileName(ds.Name, in.Window), buf.Bytes())
	if err != nil {
		return nil, err
	}
	activity.GetLogger(ctx).Info("HTML report written", "path", path, "bytes", buf.Len(), "trend_points", len(trend))
	return &batchapi.SaveHTMLResult{Path: path, Host: a.hostname(), Bytes: buf.Len(), TrendPoints: len(trend)}, nil
}

// writeAtomic writes b to dir/name through a temporary file in dir and a rename, so
// that readers see the old file or the new one, never a part. It returns the absolute
// path.
func writeAtomic(dir, name string, b []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("reports dir: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(b); err != nil {
		f.Close()
		return "", fmt.Errorf("write report %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("sync report %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("close report %s: %w", tmp, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return "", fmt.Errorf("chmod report %s: %w", tmp, err)
	}
	path := filepath.Join(dir, name)
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("rename report into place: %w", err)
	}
	ok = true
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return path, nil
}

package reporthtml

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelmon/modelmon/internal/report"
)

// goldenDir holds pages rendered by the code as it stood when the golden files were
// written (first by internal/report/html.go, before the renderer moved to this
// package); UPDATE_GOLDEN=1 rewrites them after an intended change of the output.
var goldenDir = filepath.Join("..", "..", "testdata", "report", "golden")

// TestRenderGolden pins the page byte for byte: a refactoring of the renderer must
// not change what a reader gets.
func TestRenderGolden(t *testing.T) {
	noTargets := func(t *testing.T) (*report.Report, report.Meta, []report.TrendPoint) {
		r := loadSampleReport(t)
		r.Regression.Current = nil
		r.Distributions = nil
		return r, sampleMeta(), nil
	}
	for _, c := range []struct {
		name  string
		input func(t *testing.T) (*report.Report, report.Meta, []report.TrendPoint)
	}{
		{"sample", func(t *testing.T) (*report.Report, report.Meta, []report.TrendPoint) {
			return loadSampleReport(t), sampleMeta(), sampleTrend()
		}},
		{"hostile", func(t *testing.T) (*report.Report, report.Meta, []report.TrendPoint) {
			r, meta := hostileReport(t)
			return r, meta, sampleTrend()
		}},
		{"no-targets", noTargets},
		{"estimate", estimateSample},
		{"empty", func(*testing.T) (*report.Report, report.Meta, []report.TrendPoint) {
			return &report.Report{}, report.Meta{}, nil
		}},
		{"calibrated", func(t *testing.T) (*report.Report, report.Meta, []report.TrendPoint) {
			return calibratedReport(t), sampleMeta(), sampleTrend()
		}},
		{"segments", func(t *testing.T) (*report.Report, report.Meta, []report.TrendPoint) {
			return segmentsReport(t), sampleMeta(), sampleTrend()
		}},
		{"not-enough-data", func(t *testing.T) (*report.Report, report.Meta, []report.TrendPoint) {
			return notEnoughReport(t), sampleMeta(), nil
		}},
		{"odd-values", func(*testing.T) (*report.Report, report.Meta, []report.TrendPoint) { return oddReport() }},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, meta, trend := c.input(t)
			got := []byte(renderString(t, r, meta, trend))
			path := filepath.Join(goldenDir, c.name+".html")
			if os.Getenv("UPDATE_GOLDEN") == "1" {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s (%d bytes)", path, len(got))
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (UPDATE_GOLDEN=1 writes it)", err)
			}
			if !bytes.Equal(got, want) {
				i := 0
				for i < min(len(got), len(want)) && got[i] == want[i] {
					i++
				}
				t.Errorf("output differs from %s at byte %d of %d (want %d bytes):\n got …%s…\nwant …%s…",
					path, i, len(got), len(want), got[max(0, i-60):min(len(got), i+60)], want[max(0, i-60):min(len(want), i+60)])
			}
		})
	}
}

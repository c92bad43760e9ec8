package monitor

import (
	"context"
	"fmt"

	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/taxi"
)

// ReferenceLoader reads a dataset's reference rows from its resolved reference file.
type ReferenceLoader func(ctx context.Context, path string, d *DatasetConfig) (*report.Dataset, error)

// TaxiReference is the taxi adapter: it reads a TLC green-taxi parquet month, keeps
// the rides that pass the training filter (1 <= duration <= 60 minutes, model inputs
// present) and scores them with m; the duration is the target. The columns are those
// of report.TaxiConfig.
func TaxiReference(m *model.Model) ReferenceLoader {
	return func(ctx context.Context, path string, _ *DatasetConfig) (*report.Dataset, error) {
		trips, err := taxi.ReadFile(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("taxi reference: %w", err)
		}
		return report.TaxiDataset(trips, m), nil
	}
}

// ColumnsReference is the generic adapter: it reads the configured columns
// (column_mapping) by name from a parquet or CSV file (data_format) with
// report.ReadColumns, which says how values are read. The prediction and target
// columns are used when the file has them.
func ColumnsReference(ctx context.Context, path string, d *DatasetConfig) (*report.Dataset, error) {
	ds, err := report.ReadColumns(ctx, path, d.ColumnSpec())
	if err != nil {
		return nil, fmt.Errorf("reference %s: %w", path, err)
	}
	return ds, nil
}

// ColumnSpec is what ColumnsReference reads: the column mapping and the CSV format.
func (d *DatasetConfig) ColumnSpec() report.ColumnSpec {
	spec := report.ColumnSpec{
		Numerical:   d.ColumnMapping.NumericalFeatures,
		Categorical: d.ColumnMapping.CategoricalFeatures,
		Prediction:  d.PredictionColumn(),
		Target:      d.TargetColumn(),
		NoHeader:    d.DataFormat.Header != nil && !*d.DataFormat.Header,
	}
	if sep := []rune(d.DataFormat.Separator); len(sep) > 0 {
		spec.Separator = sep[0]
	}
	return spec
}

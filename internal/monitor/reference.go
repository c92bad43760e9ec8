package monitor

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

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

// ColumnsReference is the generic adapter: it reads the configured columns by name
// from a parquet or CSV file. Numerical columns may hold any numeric type, categorical
// ones strings, integers, floats or booleans (a number becomes its shortest decimal
// form, integral values without a fraction: 132.0 and 132 are the category "132").
// The prediction and target columns are used when the file has them. Nulls, NaN and
// empty CSV fields are missing values; a missing prediction is an error.
func ColumnsReference(ctx context.Context, path string, d *DatasetConfig) (*report.Dataset, error) {
	var (
		cols *rawColumns
		err  error
	)
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		cols, err = readCSV(ctx, path, d)
	} else {
		cols, err = readParquet(ctx, path, d)
	}
	if err != nil {
		return nil, fmt.Errorf("reference %s: %w", path, err)
	}
	ds, err := cols.dataset(d)
	if err != nil {
		return nil, fmt.Errorf("reference %s: %w", path, err)
	}
	return ds, nil
}

// rawColumns holds columns read by name: numerical ones (incl. prediction and target)
// as floats, categorical ones as strings, with validity.
type rawColumns struct {
	rows int
	num  map[string]*report.NumColumn
	cat  map[string]*report.CatColumn
}

func (r *rawColumns) dataset(d *DatasetConfig) (*report.Dataset, error) {
	ds := &report.Dataset{Rows: r.rows, Numerical: map[string]*report.NumColumn{}, Categorical: map[string]*report.CatColumn{}}
	for _, n := range d.ColumnMapping.NumericalFeatures {
		c, ok := r.num[n]
		if !ok {
			return nil, fmt.Errorf("no column %q (column_mapping.numerical_features)", n)
		}
		ds.Numerical[n] = compactNum(c)
	}
	for _, n := range d.ColumnMapping.CategoricalFeatures {
		c, ok := r.cat[n]
		if !ok {
			return nil, fmt.Errorf("no column %q (column_mapping.categorical_features)", n)
		}
		ds.Categorical[n] = compactCat(c)
	}
	if c, ok := r.num[d.PredictionColumn()]; ok {
		for i, ok := range c.Valid {
			if !ok {
				return nil, fmt.Errorf("prediction column %q: row %d is missing", d.PredictionColumn(), i)
			}
		}
		ds.Prediction = c.Values
	}
	if c, ok := r.num[d.TargetColumn()]; ok {
		ds.Target = c.Values
		ds.TargetValid = compactNum(c).Valid
	}
	return ds, nil
}

func compactNum(c *report.NumColumn) *report.NumColumn {
	for _, ok := range c.Valid {
		if !ok {
			return c
		}
	}
	return &report.NumColumn{Values: c.Values}
}

func compactCat(c *report.CatColumn) *report.CatColumn {
	for _, ok := range c.Valid {
		if !ok {
			return c
		}
	}
	return &report.CatColumn{Values: c.Values}
}

// wanted lists the columns to read: name -> categorical? Prediction and target are
// optional.
func wanted(d *DatasetConfig) (cols map[string]bool, optional map[string]bool) {
	cols = map[string]bool{}
	for _, n := range d.ColumnMapping.NumericalFeatures {
		cols[n] = false
	}
	for _, n := range d.ColumnMapping.CategoricalFeatures {
		cols[n] = true
	}
	cols[d.PredictionColumn()] = false
	cols[d.TargetColumn()] = false
	optional = map[string]bool{d.PredictionColumn(): true, d.TargetColumn(): true}
	return cols, optional
}

func readParquet(ctx context.Context, path string, d *DatasetConfig) (*rawColumns, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("open parquet: %w", err)
	}
	n := pf.NumRows()
	if n < 0 || n > 1<<28 {
		return nil, fmt.Errorf("parquet claims %d rows", n)
	}
	out := &rawColumns{rows: int(n), num: map[string]*report.NumColumn{}, cat: map[string]*report.CatColumn{}}
	cols, optional := wanted(d)
	schema := pf.Schema()
	for name, categorical := range cols {
		leaf, ok := schema.Lookup(name)
		if !ok {
			if optional[name] {
				continue
			}
			return nil, fmt.Errorf("parquet has no column %q", name)
		}
		if leaf.MaxRepetitionLevel > 0 {
			return nil, fmt.Errorf("column %s is repeated", name)
		}
		valid := make([]bool, n)
		var (
			nums []float64
			cats []string
		)
		if categorical {
			cats = make([]string, n)
		} else {
			nums = make([]float64, n)
		}
		row := 0
		for _, rg := range pf.RowGroups() {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("read parquet: %w", err)
			}
			err := readLeaf(rg.ColumnChunks()[leaf.ColumnIndex], func(v parquet.Value) error {
				if row >= int(n) {
					return fmt.Errorf("more values than rows (%d)", n)
				}
				if !v.IsNull() {
					if categorical {
						s, err := catValue(v)
						if err != nil {
							return fmt.Errorf("row %d: %w", row, err)
						}
						cats[row], valid[row] = s, true
					} else {
						x, err := numValue(v)
						if err != nil {
							return fmt.Errorf("row %d: %w", row, err)
						}
						if !math.IsNaN(x) && !math.IsInf(x, 0) {
							nums[row], valid[row] = x, true
						}
					}
				}
				row++
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", name, err)
			}
		}
		if row != int(n) {
			return nil, fmt.Errorf("column %s: read %d of %d rows", name, row, n)
		}
		if categorical {
			out.cat[name] = &report.CatColumn{Values: cats, Valid: valid}
		} else {
			out.num[name] = &report.NumColumn{Values: nums, Valid: valid}
		}
	}
	return out, nil
}

func readLeaf(chunk parquet.ColumnChunk, fn func(parquet.Value) error) error {
	pages := chunk.Pages()
	defer pages.Close()
	buf := make([]parquet.Value, 1024)
	for {
		page, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read page: %w", err)
		}
		values := page.Values()
		for {
			k, rerr := values.ReadValues(buf)
			for _, v := range buf[:k] {
				if err := fn(v); err != nil {
					parquet.Release(page)
					return err
				}
			}
			if errors.Is(rerr, io.EOF) {
				break
			}
			if rerr != nil {
				parquet.Release(page)
				return fmt.Errorf("read values: %w", rerr)
			}
		}
		parquet.Release(page)
	}
}

func numValue(v parquet.Value) (float64, error) {
	switch v.Kind() {
	case parquet.Int32:
		return float64(v.Int32()), nil
	case parquet.Int64:
		return float64(v.Int64()), nil
	case parquet.Float:
		return float64(v.Float()), nil
	case parquet.Double:
		return v.Double(), nil
	case parquet.Boolean:
		if v.Boolean() {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("a %s value is not numerical", v.Kind())
}

func catValue(v parquet.Value) (string, error) {
	switch v.Kind() {
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray()), nil
	case parquet.Boolean:
		return strconv.FormatBool(v.Boolean()), nil
	case parquet.Int32:
		return strconv.FormatInt(int64(v.Int32()), 10), nil
	case parquet.Int64:
		return strconv.FormatInt(v.Int64(), 10), nil
	case parquet.Float:
		return formatCategoryNumber(float64(v.Float())), nil
	case parquet.Double:
		return formatCategoryNumber(v.Double()), nil
	}
	return "", fmt.Errorf("a %s value cannot be a category", v.Kind())
}

// formatCategoryNumber writes a number used as a category: integral values without a
// fraction (132.0 -> "132"), others in the shortest form that reads back exactly.
func formatCategoryNumber(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
		return strconv.FormatInt(int64(x), 10)
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

func readCSV(ctx context.Context, path string, d *DatasetConfig) (*rawColumns, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	if sep := d.DataFormat.Separator; sep != "" {
		r.Comma = []rune(sep)[0]
	}
	header := d.DataFormat.Header == nil || *d.DataFormat.Header
	cols, optional := wanted(d)
	index := map[string]int{} // column -> field index
	out := &rawColumns{num: map[string]*report.NumColumn{}, cat: map[string]*report.CatColumn{}}
	setup := func(names []string) error {
		for i, n := range names {
			if _, ok := cols[n]; ok {
				if _, dup := index[n]; dup {
					return fmt.Errorf("column %q appears twice", n)
				}
				index[n] = i
			}
		}
		for n, categorical := range cols {
			if _, ok := index[n]; !ok {
				if optional[n] {
					continue
				}
				return fmt.Errorf("csv has no column %q", n)
			}
			if categorical {
				out.cat[n] = &report.CatColumn{}
			} else {
				out.num[n] = &report.NumColumn{}
			}
		}
		return nil
	}
	for line := 1; ; line++ {
		if line%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("read csv: %w", err)
			}
		}
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read csv: %w", err)
		}
		if line == 1 {
			if header {
				if err := setup(rec); err != nil {
					return nil, err
				}
				continue
			}
			names := make([]string, len(rec)) // pandas names headerless columns 0, 1, ...
			for i := range names {
				names[i] = strconv.Itoa(i)
			}
			if err := setup(names); err != nil {
				return nil, err
			}
		}
		for n, i := range index {
			field := ""
			if i < len(rec) {
				field = strings.TrimSpace(rec[i])
			}
			if c, ok := out.cat[n]; ok {
				if x, err := strconv.ParseFloat(field, 64); err == nil && !math.IsNaN(x) && !math.IsInf(x, 0) {
					field = formatCategoryNumber(x)
				}
				c.Values = append(c.Values, field)
				c.Valid = append(c.Valid, field != "")
				continue
			}
			c := out.num[n]
			x, ok := 0.0, false
			if field != "" {
				v, err := strconv.ParseFloat(field, 64)
				if err != nil {
					return nil, fmt.Errorf("line %d: column %s: %q is not a number", line, n, field)
				}
				x, ok = v, !math.IsNaN(v) && !math.IsInf(v, 0)
				if !ok {
					x = 0
				}
			}
			c.Values = append(c.Values, x)
			c.Valid = append(c.Valid, ok)
		}
		out.rows++
	}
	return out, nil
}

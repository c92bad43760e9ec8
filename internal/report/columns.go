package report

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
)

// ColumnSpec names the columns ReadColumns reads from a file.
type ColumnSpec struct {
	// Numerical and Categorical are the feature columns; each must be in the file.
	Numerical   []string
	Categorical []string
	// Prediction and Target name optional numerical columns, used when the file has
	// them ("": not read). A prediction must not be missing in any row.
	Prediction string
	Target     string
	// Separator is the CSV field separator (0: ','). NoHeader reads a CSV file
	// without a header line: its columns are then named 0, 1, ... (as pandas does).
	Separator rune
	NoHeader  bool
}

// ReadColumns reads the columns of spec by name from a parquet file, or a CSV file
// when path ends in .csv. Numerical columns may hold any numeric type (booleans are
// 1 and 0), categorical ones strings, integers, floats or booleans (a number becomes
// its FormatCategoryNumber form: 132.0 and 132 are the category "132"). Nulls, NaN,
// infinities and empty CSV fields are missing values; a missing prediction is an
// error. The dataset has predictions and targets only if the file has those columns.
func ReadColumns(ctx context.Context, path string, spec ColumnSpec) (*Dataset, error) {
	var (
		cols *rawColumns
		err  error
	)
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		cols, err = readCSV(ctx, path, spec)
	} else {
		cols, err = readParquet(ctx, path, spec)
	}
	if err != nil {
		return nil, err
	}
	return cols.dataset(spec)
}

// rawColumns holds columns read by name: numerical ones (incl. prediction and target)
// as floats, categorical ones as strings, with validity.
type rawColumns struct {
	rows int
	num  map[string]*NumColumn
	cat  map[string]*CatColumn
}

func (r *rawColumns) dataset(spec ColumnSpec) (*Dataset, error) {
	ds := &Dataset{Rows: r.rows, Numerical: map[string]*NumColumn{}, Categorical: map[string]*CatColumn{}}
	for _, n := range spec.Numerical {
		c, ok := r.num[n]
		if !ok {
			return nil, fmt.Errorf("no numerical column %q", n)
		}
		ds.Numerical[n] = compactNum(c)
	}
	for _, n := range spec.Categorical {
		c, ok := r.cat[n]
		if !ok {
			return nil, fmt.Errorf("no categorical column %q", n)
		}
		ds.Categorical[n] = compactCat(c)
	}
	if c, ok := r.num[spec.Prediction]; ok && spec.Prediction != "" {
		for i, ok := range c.Valid {
			if !ok {
				return nil, fmt.Errorf("prediction column %q: row %d is missing", spec.Prediction, i)
			}
		}
		ds.Prediction = c.Values
	}
	if c, ok := r.num[spec.Target]; ok && spec.Target != "" {
		ds.Target = c.Values
		ds.TargetValid = compactNum(c).Valid
	}
	return ds, nil
}

func compactNum(c *NumColumn) *NumColumn {
	for _, ok := range c.Valid {
		if !ok {
			return c
		}
	}
	return &NumColumn{Values: c.Values}
}

func compactCat(c *CatColumn) *CatColumn {
	for _, ok := range c.Valid {
		if !ok {
			return c
		}
	}
	return &CatColumn{Values: c.Values}
}

// wanted lists the columns to read: name -> categorical? Prediction and target are
// optional.
func (spec ColumnSpec) wanted() (cols map[string]bool, optional map[string]bool) {
	cols = map[string]bool{}
	optional = map[string]bool{}
	for _, n := range []string{spec.Prediction, spec.Target} {
		if n != "" {
			cols[n], optional[n] = false, true
		}
	}
	for _, n := range spec.Numerical {
		cols[n] = false
		delete(optional, n)
	}
	for _, n := range spec.Categorical {
		cols[n] = true
		delete(optional, n)
	}
	return cols, optional
}

func readParquet(ctx context.Context, path string, spec ColumnSpec) (*rawColumns, error) {
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
	out := &rawColumns{rows: int(n), num: map[string]*NumColumn{}, cat: map[string]*CatColumn{}}
	cols, optional := spec.wanted()
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
			out.cat[name] = &CatColumn{Values: cats, Valid: valid}
		} else {
			out.num[name] = &NumColumn{Values: nums, Valid: valid}
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
		return FormatCategoryNumber(float64(v.Float())), nil
	case parquet.Double:
		return FormatCategoryNumber(v.Double()), nil
	}
	return "", fmt.Errorf("a %s value cannot be a category", v.Kind())
}

// FormatCategoryNumber writes a number used as a category: integral values without a
// fraction (132.0 -> "132"), others in the shortest form that reads back exactly.
func FormatCategoryNumber(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
		return strconv.FormatInt(int64(x), 10)
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

func readCSV(ctx context.Context, path string, spec ColumnSpec) (*rawColumns, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	if spec.Separator != 0 {
		r.Comma = spec.Separator
	}
	header := !spec.NoHeader
	cols, optional := spec.wanted()
	index := map[string]int{} // column -> field index
	out := &rawColumns{num: map[string]*NumColumn{}, cat: map[string]*CatColumn{}}
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
				out.cat[n] = &CatColumn{}
			} else {
				out.num[n] = &NumColumn{}
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
					field = FormatCategoryNumber(x)
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

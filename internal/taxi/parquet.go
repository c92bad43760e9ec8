package taxi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// ReadFile reads every row of a TLC green-taxi parquet file.
// See Read.
func ReadFile(ctx context.Context, path string) ([]Trip, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open trips: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat trips: %w", err)
	}
	trips, err := Read(ctx, f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return trips, nil
}

// columnSetter stores one parquet value (never null) into a trip.
type columnSetter struct {
	name string
	kind fieldKind
	set  func(t *Trip, v any)
}

type fieldKind int

const (
	kindInt fieldKind = iota
	kindFloat
	kindTime
	kindString
)

var columns = []columnSetter{
	{"VendorID", kindInt, func(t *Trip, v any) { t.VendorID = ptr(v.(int64)) }},
	{"lpep_pickup_datetime", kindTime, func(t *Trip, v any) { t.Pickup = ptr(v.(LocalTime)) }},
	{"lpep_dropoff_datetime", kindTime, func(t *Trip, v any) { t.Dropoff = ptr(v.(LocalTime)) }},
	{"store_and_fwd_flag", kindString, func(t *Trip, v any) { t.StoreAndFwdFlag = ptr(v.(string)) }},
	{"RatecodeID", kindInt, func(t *Trip, v any) { t.RatecodeID = ptr(v.(int64)) }},
	{"PULocationID", kindInt, func(t *Trip, v any) { t.PULocationID = ptr(v.(int64)) }},
	{"DOLocationID", kindInt, func(t *Trip, v any) { t.DOLocationID = ptr(v.(int64)) }},
	{"passenger_count", kindInt, func(t *Trip, v any) { t.PassengerCount = ptr(v.(int64)) }},
	{"trip_distance", kindFloat, func(t *Trip, v any) { t.TripDistance = ptr(v.(float64)) }},
	{"fare_amount", kindFloat, func(t *Trip, v any) { t.FareAmount = ptr(v.(float64)) }},
	{"extra", kindFloat, func(t *Trip, v any) { t.Extra = ptr(v.(float64)) }},
	{"mta_tax", kindFloat, func(t *Trip, v any) { t.MtaTax = ptr(v.(float64)) }},
	{"tip_amount", kindFloat, func(t *Trip, v any) { t.TipAmount = ptr(v.(float64)) }},
	{"tolls_amount", kindFloat, func(t *Trip, v any) { t.TollsAmount = ptr(v.(float64)) }},
	{"ehail_fee", kindFloat, func(t *Trip, v any) { t.EhailFee = ptr(v.(float64)) }},
	{"improvement_surcharge", kindFloat, func(t *Trip, v any) { t.ImprovementSurcharge = ptr(v.(float64)) }},
	{"total_amount", kindFloat, func(t *Trip, v any) { t.TotalAmount = ptr(v.(float64)) }},
	{"payment_type", kindInt, func(t *Trip, v any) { t.PaymentType = ptr(v.(int64)) }},
	{"trip_type", kindInt, func(t *Trip, v any) { t.TripType = ptr(v.(int64)) }},
	{"congestion_surcharge", kindFloat, func(t *Trip, v any) { t.CongestionSurcharge = ptr(v.(float64)) }},
}

// MaxRows is the most rows Read accepts from one file.
const MaxRows = 1 << 21

// RequiredColumns must be present in a file; the other TLC columns are optional and
// read as all-missing when absent.
var RequiredColumns = []string{"lpep_pickup_datetime", "lpep_dropoff_datetime", "PULocationID", "DOLocationID", "trip_distance"}

func ptr[T any](v T) *T { return &v }

// Read reads every row of TLC green-taxi parquet data. The physical schema is not
// assumed: integer columns may be stored as INT32, INT64 or integral DOUBLE, float
// columns as any numeric type, timestamps as INT64 TIMESTAMP (millis, micros or nanos,
// read as naive wall-clock time) or INT96. A value that cannot be converted without
// loss (a fractional count, say) is an error naming the column and row.
func Read(ctx context.Context, r io.ReaderAt, size int64) ([]Trip, error) {
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a valid parquet file: %w", err)
	}
	n := f.NumRows()
	// The footer's row count sizes the allocation: bound it, absolutely and by the
	// file's size (TLC months hold ~0.06 rows per byte), so that a crafted footer
	// cannot ask for gigabytes.
	if n < 0 || n > MaxRows || n > 100*size+1000 {
		return nil, fmt.Errorf("parquet claims %d rows in %d bytes (limit %d rows, 100 per byte)", n, size, MaxRows)
	}
	trips := make([]Trip, n)
	schema := f.Schema()
	for _, name := range RequiredColumns {
		if _, ok := schema.Lookup(name); !ok {
			return nil, fmt.Errorf("parquet has no column %q: not a TLC green-taxi file", name)
		}
	}
	for _, col := range columns {
		leaf, ok := schema.Lookup(col.name)
		if !ok {
			continue
		}
		if leaf.MaxRepetitionLevel > 0 {
			return nil, fmt.Errorf("column %s: repeated columns are not TLC data", col.name)
		}
		conv, err := converter(col, leaf.Node.Type())
		if err != nil {
			return nil, err
		}
		row := 0
		for _, rg := range f.RowGroups() {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("read parquet: %w", err)
			}
			chunk := rg.ColumnChunks()[leaf.ColumnIndex]
			got, err := readChunk(chunk, trips[row:], col, conv)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", col.name, err)
			}
			if int64(got) != rg.NumRows() {
				return nil, fmt.Errorf("column %s: row group has %d rows, read %d values", col.name, rg.NumRows(), got)
			}
			row += got
		}
		if int64(row) != n {
			return nil, fmt.Errorf("column %s: read %d of %d rows", col.name, row, n)
		}
	}
	return trips, nil
}

func readChunk(chunk parquet.ColumnChunk, trips []Trip, col columnSetter, conv func(parquet.Value) (any, error)) (int, error) {
	pages := chunk.Pages()
	defer pages.Close()
	buf := make([]parquet.Value, 1024)
	i := 0
	for {
		page, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return i, nil
		}
		if err != nil {
			return i, fmt.Errorf("read page: %w", err)
		}
		values := page.Values()
		for {
			k, err := values.ReadValues(buf)
			for _, v := range buf[:k] {
				if i >= len(trips) {
					parquet.Release(page)
					return i, fmt.Errorf("more values than rows (%d)", len(trips))
				}
				if !v.IsNull() {
					x, cerr := conv(v)
					if cerr != nil {
						parquet.Release(page)
						return i, fmt.Errorf("row %d: %w", i, cerr)
					}
					col.set(&trips[i], x)
				}
				i++
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				parquet.Release(page)
				return i, fmt.Errorf("read values: %w", err)
			}
		}
		parquet.Release(page)
	}
}

// converter returns the function that turns a non-null value of physical type typ
// into the Go value the column setter expects.
func converter(col columnSetter, typ parquet.Type) (func(parquet.Value) (any, error), error) {
	if lt := typ.LogicalType(); lt != nil {
		if _, ok := lt.Value.(*format.NullType); ok {
			// Logical type NULL (the TLC's all-null ehail_fee in schema A): no value can occur.
			return func(v parquet.Value) (any, error) {
				return nil, fmt.Errorf("non-null value in a column of logical type NULL")
			}, nil
		}
	}
	kind := typ.Kind()
	bad := fmt.Errorf("column %s: physical type %s cannot hold %s values", col.name, kind, kindName(col.kind))
	switch col.kind {
	case kindInt:
		switch kind {
		case parquet.Int32:
			return func(v parquet.Value) (any, error) { return int64(v.Int32()), nil }, nil
		case parquet.Int64:
			return func(v parquet.Value) (any, error) { return v.Int64(), nil }, nil
		case parquet.Float, parquet.Double:
			return func(v parquet.Value) (any, error) {
				x := v.Double()
				if kind == parquet.Float {
					x = float64(v.Float())
				}
				if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
					return nil, fmt.Errorf("value %v is not an integer", x)
				}
				return int64(x), nil
			}, nil
		}
	case kindFloat:
		switch kind {
		case parquet.Int32:
			return func(v parquet.Value) (any, error) { return float64(v.Int32()), nil }, nil
		case parquet.Int64:
			return func(v parquet.Value) (any, error) { return float64(v.Int64()), nil }, nil
		case parquet.Float:
			return func(v parquet.Value) (any, error) { return float64(v.Float()), nil }, nil
		case parquet.Double:
			return func(v parquet.Value) (any, error) { return v.Double(), nil }, nil
		}
	case kindString:
		if kind == parquet.ByteArray || kind == parquet.FixedLenByteArray {
			return func(v parquet.Value) (any, error) { return string(v.ByteArray()), nil }, nil
		}
	case kindTime:
		switch kind {
		case parquet.Int64:
			unit, err := timestampUnit(typ)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", col.name, err)
			}
			return func(v parquet.Value) (any, error) {
				return LocalTime{time.Unix(0, 0).UTC().Add(time.Duration(v.Int64()) * unit)}, nil
			}, nil
		case parquet.Int96:
			return func(v parquet.Value) (any, error) {
				b := v.Int96()
				nanos := int64(b[1])<<32 | int64(b[0])
				julian := int64(b[2])
				days := julian - 2440588 // Julian day of 1970-01-01
				return LocalTime{time.Unix(days*86400, nanos).UTC()}, nil
			}, nil
		}
	}
	return nil, bad
}

func timestampUnit(typ parquet.Type) (time.Duration, error) {
	lt := typ.LogicalType()
	if lt == nil {
		return 0, errors.New("INT64 without TIMESTAMP logical type")
	}
	ts, ok := lt.Value.(*format.TimestampType)
	if !ok || ts.Unit.Value == nil {
		return 0, fmt.Errorf("INT64 with logical type %s, want TIMESTAMP", lt)
	}
	d, ok := ts.Unit.Value.(interface{ Duration() time.Duration })
	if !ok {
		return 0, fmt.Errorf("timestamp unit %s", ts.Unit.String())
	}
	return d.Duration(), nil
}

func kindName(k fieldKind) string {
	return [...]string{"integer", "float", "timestamp", "string"}[k]
}

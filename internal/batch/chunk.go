package batch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/modelmon/modelmon/internal/report"
)

// The staging format of a chunk of rows: a report.Dataset in columnar binary form
// (little-endian float64 columns, dictionary-encoded categorical columns, validity
// bitmaps only where a value is missing), and separately the rows' ids. It is compact
// (about 20 bytes a row for the taxi columns) and decodes without reflection.

const datasetMagic = "MMD1"
const idsMagic = "MMI1"

// ErrCorruptChunk is wrapped by decoding errors.
var ErrCorruptChunk = errors.New("corrupt staging chunk")

type enc struct{ b []byte }

func (e *enc) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) floats(v []float64) {
	for _, x := range v {
		e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(x))
	}
}

func (e *enc) valid(v []bool, rows int) {
	if v == nil {
		e.b = append(e.b, 0)
		return
	}
	e.b = append(e.b, 1)
	bm := make([]byte, (rows+7)/8)
	for i := 0; i < rows && i < len(v); i++ {
		if v[i] {
			bm[i/8] |= 1 << (i % 8)
		}
	}
	e.b = append(e.b, bm...)
}

type dec struct {
	b   []byte
	err error
}

func (d *dec) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated %s", ErrCorruptChunk, what)
	}
}

func (d *dec) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) bytes(n uint64, what string) []byte {
	if d.err != nil {
		return nil
	}
	if uint64(len(d.b)) < n {
		d.fail(what)
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *dec) str(what string) string {
	n := d.uvarint(what)
	return string(d.bytes(n, what))
}

func (d *dec) floats(rows int, what string) []float64 {
	raw := d.bytes(uint64(rows)*8, what)
	if raw == nil {
		return make([]float64, rows)
	}
	out := make([]float64, rows)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	return out
}

func (d *dec) valid(rows int, what string) []bool {
	flag := d.bytes(1, what)
	if flag == nil || flag[0] == 0 {
		return nil
	}
	bm := d.bytes(uint64((rows+7)/8), what)
	if bm == nil {
		return nil
	}
	out := make([]bool, rows)
	for i := range out {
		out[i] = bm[i/8]&(1<<(i%8)) != 0
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// EncodeDataset writes d in the staging format.
func EncodeDataset(d *report.Dataset) []byte {
	e := &enc{b: make([]byte, 0, 64+d.Rows*24)}
	e.b = append(e.b, datasetMagic...)
	e.uvarint(uint64(d.Rows))
	e.uvarint(uint64(len(d.Numerical)))
	for _, name := range sortedKeys(d.Numerical) {
		c := d.Numerical[name]
		e.str(name)
		e.valid(c.Valid, d.Rows)
		e.floats(c.Values)
	}
	e.uvarint(uint64(len(d.Categorical)))
	for _, name := range sortedKeys(d.Categorical) {
		c := d.Categorical[name]
		e.str(name)
		e.valid(c.Valid, d.Rows)
		index := map[string]uint64{}
		var dict []string
		codes := make([]uint64, len(c.Values))
		for i, v := range c.Values {
			k, ok := index[v]
			if !ok {
				k = uint64(len(dict))
				index[v] = k
				dict = append(dict, v)
			}
			codes[i] = k
		}
		e.uvarint(uint64(len(dict)))
		for _, s := range dict {
			e.str(s)
		}
		for _, k := range codes {
			e.uvarint(k)
		}
	}
	writeOpt := func(v []float64) {
		if v == nil {
			e.b = append(e.b, 0)
			return
		}
		e.b = append(e.b, 1)
		e.floats(v)
	}
	writeOpt(d.Prediction)
	writeOpt(d.Target)
	e.valid(d.TargetValid, d.Rows)
	return e.b
}

// maxRows bounds a decoded chunk so that a corrupt length cannot allocate the world.
const maxRows = 50_000_000

// DecodeDataset reads what EncodeDataset wrote.
func DecodeDataset(b []byte) (*report.Dataset, error) {
	if len(b) < len(datasetMagic) || string(b[:len(datasetMagic)]) != datasetMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrCorruptChunk)
	}
	d := &dec{b: b[len(datasetMagic):]}
	rows64 := d.uvarint("rows")
	if rows64 > maxRows {
		return nil, fmt.Errorf("%w: %d rows", ErrCorruptChunk, rows64)
	}
	rows := int(rows64)
	out := &report.Dataset{Rows: rows, Numerical: map[string]*report.NumColumn{}, Categorical: map[string]*report.CatColumn{}}
	nNum := d.uvarint("column count")
	for i := uint64(0); i < nNum && d.err == nil; i++ {
		name := d.str("column name")
		valid := d.valid(rows, "validity")
		out.Numerical[name] = &report.NumColumn{Valid: valid, Values: d.floats(rows, "numerical column")}
	}
	nCat := d.uvarint("column count")
	for i := uint64(0); i < nCat && d.err == nil; i++ {
		name := d.str("column name")
		valid := d.valid(rows, "validity")
		nDict := d.uvarint("dictionary size")
		if nDict > uint64(rows)+1 {
			return nil, fmt.Errorf("%w: dictionary of %d for %d rows", ErrCorruptChunk, nDict, rows)
		}
		dict := make([]string, nDict)
		for j := range dict {
			dict[j] = d.str("dictionary")
		}
		vals := make([]string, rows)
		for j := range vals {
			k := d.uvarint("category code")
			if d.err != nil {
				break
			}
			if k >= nDict {
				return nil, fmt.Errorf("%w: category code %d of %d", ErrCorruptChunk, k, nDict)
			}
			vals[j] = dict[k]
		}
		out.Categorical[name] = &report.CatColumn{Valid: valid, Values: vals}
	}
	readOpt := func(what string) []float64 {
		flag := d.bytes(1, what)
		if flag == nil || flag[0] == 0 {
			return nil
		}
		return d.floats(rows, what)
	}
	out.Prediction = readOpt("prediction")
	out.Target = readOpt("target")
	out.TargetValid = d.valid(rows, "target validity")
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorruptChunk, len(d.b))
	}
	return out, nil
}

// EncodeIDs writes row ids in the staging format.
func EncodeIDs(ids []string) []byte {
	n := len(idsMagic) + 8
	for _, s := range ids {
		n += len(s) + 2
	}
	e := &enc{b: make([]byte, 0, n)}
	e.b = append(e.b, idsMagic...)
	e.uvarint(uint64(len(ids)))
	for _, s := range ids {
		e.str(s)
	}
	return e.b
}

// DecodeIDs reads what EncodeIDs wrote.
func DecodeIDs(b []byte) ([]string, error) {
	if len(b) < len(idsMagic) || string(b[:len(idsMagic)]) != idsMagic {
		return nil, fmt.Errorf("%w: bad ids magic", ErrCorruptChunk)
	}
	d := &dec{b: b[len(idsMagic):]}
	n := d.uvarint("id count")
	if n > uint64(len(b)) {
		return nil, fmt.Errorf("%w: %d ids in %d bytes", ErrCorruptChunk, n, len(b))
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str("id")
	}
	if d.err != nil {
		return nil, d.err
	}
	return out, nil
}

// SetTargets sets d's target column from a target-only dataset t with the same rows.
func SetTargets(d, t *report.Dataset) error {
	if t.Rows != d.Rows {
		return fmt.Errorf("%w: %d targets for %d rows", ErrCorruptChunk, t.Rows, d.Rows)
	}
	d.Target, d.TargetValid = t.Target, t.TargetValid
	return nil
}

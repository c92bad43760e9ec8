package monitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/modelmon/modelmon/internal/report"
)

// errTooManyRecords: an /iterate body holds more records than
// service.iterate_max_records.
var errTooManyRecords = errors.New("too many records")

// Column roles of an /iterate field.
const (
	roleNum = iota
	roleCat
	rolePred
	roleTgt
)

type colRef struct{ role, j int }

// iterateColumns maps the field names d takes to their roles (a name may have
// several: every role reads it).
func (d *dataset) iterateColumns() map[string][]colRef {
	cols := map[string][]colRef{}
	for j, n := range d.numNames {
		cols[n] = append(cols[n], colRef{roleNum, j})
	}
	for j, n := range d.catNames {
		cols[n] = append(cols[n], colRef{roleCat, j})
	}
	pc, tc := d.cfg.PredictionColumn(), d.cfg.TargetColumn()
	cols[pc] = append(cols[pc], colRef{rolePred, 0})
	cols[tc] = append(cols[tc], colRef{roleTgt, 0})
	return cols
}

// blockRecords is the number of records of an iterBlock, and the most records
// observed under one hold of the dataset's lock.
const blockRecords = 256

// iterBlock holds up to blockRecords decoded /iterate records by column: record k's
// numerical column j is num[k*nn+j], its categorical column j cat[k*nc+j].
type iterBlock struct {
	n             int
	num           []float64
	numOK         []bool
	cat           []string
	catOK         []bool
	pred, tgt     [blockRecords]float64
	predOK, tgtOK [blockRecords]bool
}

// iterRecords are the decoded records of one /iterate body.
type iterRecords struct {
	n      int
	blocks []*iterBlock
}

// next returns the block and index of a new record.
func (r *iterRecords) next(nn, nc int) (*iterBlock, int) {
	if len(r.blocks) == 0 || r.blocks[len(r.blocks)-1].n == blockRecords {
		r.blocks = append(r.blocks, &iterBlock{
			num: make([]float64, nn*blockRecords), numOK: make([]bool, nn*blockRecords),
			cat: make([]string, nc*blockRecords), catOK: make([]bool, nc*blockRecords),
		})
	}
	b := r.blocks[len(r.blocks)-1]
	k := b.n
	b.n++
	r.n++
	return b, k
}

// skipValue is a JSON value decoded into nothing: the decoder checks its syntax.
type skipValue struct{}

func (*skipValue) UnmarshalJSON([]byte) error { return nil }

// decodeRecords parses an /iterate body into records of d's columns. The body is
// first checked as JSON without building anything, then walked in place: no map per
// record, the columns of 256 records share their allocations, ignored fields are
// skipped, and the walk stops at the record after maxRecords (errTooManyRecords;
// maxRecords <= 0: no bound).
func (d *dataset) decodeRecords(body []byte, maxRecords int) (*iterRecords, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, errors.New("empty body: want a JSON object or an array of objects")
	}
	if body[0] != '{' && body[0] != '[' {
		return nil, errors.New("want a JSON object or an array of objects")
	}
	if !json.Valid(body) {
		// Say why (the decoder copies the body: only for a bad one).
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&skipValue{}); err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return nil, errors.New("invalid JSON: trailing data after the value")
		}
		return nil, errors.New("invalid JSON")
	}
	// From here the body is valid JSON: the walker need not check its syntax.
	w := walker{b: body}
	recs := &iterRecords{}
	if body[0] == '{' {
		if err := d.decodeObject(&w, 0, recs); err != nil {
			return nil, err
		}
		return recs, nil
	}
	w.i++ // '['
	for i := 0; ; i++ {
		c := w.peek()
		if c == ']' {
			break
		}
		if c == ',' {
			w.i++
			c = w.peek()
		}
		if maxRecords > 0 && i == maxRecords {
			return nil, fmt.Errorf("%w: the body holds more than %d records (service.iterate_max_records, or ITERATE_MAX_RECORDS of the online service): send them in several requests", errTooManyRecords, maxRecords)
		}
		switch c {
		case '{':
		case 'n':
			return nil, fmt.Errorf("record %d: null: want an object", i)
		default:
			return nil, fmt.Errorf("invalid JSON: want an array of objects: record %d is %s", i, rawKind(w.b[w.i:]))
		}
		if err := d.decodeObject(&w, i, recs); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// decodeObject decodes the object at w as record i.
func (d *dataset) decodeObject(w *walker, i int, recs *iterRecords) error {
	nn, nc := len(d.numNames), len(d.catNames)
	b, k := recs.next(nn, nc)
	w.i++ // '{'
	for {
		c := w.peek()
		if c == '}' {
			w.i++
			return nil
		}
		if c == ',' {
			w.i++
			w.peek()
		}
		rawKey := w.value()
		w.peek()
		w.i++ // ':'
		raw := w.value()
		var refs []colRef
		if inner := rawKey[1 : len(rawKey)-1]; bytes.IndexByte(inner, '\\') < 0 {
			refs = d.cols[string(inner)] // no allocation
		} else {
			var key string
			if err := json.Unmarshal(rawKey, &key); err == nil {
				refs = d.cols[key]
			}
		}
		var err error
		for _, ref := range refs {
			switch ref.role {
			case roleNum:
				if b.num[k*nn+ref.j], b.numOK[k*nn+ref.j], err = numRaw(raw); err != nil {
					return fmt.Errorf("record %d: field %q: %w", i, d.numNames[ref.j], err)
				}
			case roleCat:
				if b.cat[k*nc+ref.j], b.catOK[k*nc+ref.j], err = catRaw(raw); err != nil {
					return fmt.Errorf("record %d: field %q: %w", i, d.catNames[ref.j], err)
				}
			case rolePred:
				if b.pred[k], b.predOK[k], err = numRaw(raw); err != nil {
					return fmt.Errorf("record %d: field %q (prediction): %w", i, d.cfg.PredictionColumn(), err)
				}
			case roleTgt:
				if b.tgt[k], b.tgtOK[k], err = numRaw(raw); err != nil {
					return fmt.Errorf("record %d: field %q (target): %w", i, d.cfg.TargetColumn(), err)
				}
			}
		}
	}
}

// walker steps through a body that is valid JSON.
type walker struct {
	b []byte
	i int
}

// peek skips white space and returns the next byte.
func (w *walker) peek() byte {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
			continue
		}
		return w.b[w.i]
	}
	return 0
}

// value returns the next value's bytes and steps past it.
func (w *walker) value() []byte {
	w.peek()
	start := w.i
	switch w.b[w.i] {
	case '"':
		w.i = endString(w.b, w.i)
	case '{', '[':
		depth := 0
		for {
			switch w.b[w.i] {
			case '"':
				w.i = endString(w.b, w.i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			w.i++
			if depth == 0 {
				break
			}
		}
	default: // number, true, false, null
		for w.i < len(w.b) {
			switch w.b[w.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return w.b[start:w.i]
			}
			w.i++
		}
	}
	return w.b[start:w.i]
}

// endString returns the index after the string that starts at b[i] ('"').
func endString(b []byte, i int) int {
	for i++; ; i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
}

// rawString decodes a JSON string literal.
func rawString(raw []byte) string {
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner)
	}
	var s string
	_ = json.Unmarshal(raw, &s) // valid JSON: cannot fail
	return s
}

func rawKind(raw []byte) string {
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// numRaw reads a numerical field: a number or a numeric string ("" and null are
// missing; a NaN or infinite string is missing too).
func numRaw(raw []byte) (float64, bool, error) {
	switch raw[0] {
	case 'n':
		return 0, false, nil
	case '"':
		x := rawString(raw)
		if x == "" {
			return 0, false, nil
		}
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, false, fmt.Errorf("%q is not a number", truncate(x))
		}
		return f, !math.IsNaN(f) && !math.IsInf(f, 0), nil
	case 't', 'f':
		return 0, false, errors.New("a boolean is not a number")
	case '{', '[':
		return 0, false, fmt.Errorf("want a number, got %s", rawKind(raw))
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0, false, fmt.Errorf("%s is not a float64", truncate(string(raw)))
	}
	return f, true, nil
}

// catField reads a categorical field: a string, a number (132 and 132.0 are "132")
// or a boolean; null is missing.
func catRaw(raw []byte) (string, bool, error) {
	switch raw[0] {
	case 'n':
		return "", false, nil
	case '"':
		return rawString(raw), true, nil
	case 't':
		return "true", true, nil
	case 'f':
		return "false", true, nil
	case '{', '[':
		return "", false, fmt.Errorf("want a string or number, got %s", rawKind(raw))
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return "", false, fmt.Errorf("%s is not a float64", truncate(string(raw)))
	}
	return report.FormatCategoryNumber(f), true, nil
}

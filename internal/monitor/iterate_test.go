package monitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelmon/modelmon/internal/report"
)

// TestIterateRecordBound: a body with more records than service.iterate_max_records
// is refused with 413 and nothing of it is kept.
func TestIterateRecordBound(t *testing.T) {
	cfg := smallConfig(t, refCSV, "", "  iterate_max_records: 3\n")
	m, reg := newTestMonitor(t, cfg)
	srv := httptest.NewServer(routerFor(t, m, reg))
	defer srv.Close()
	u := srv.URL + "/iterate/rides"
	rec := `{"zone": "a", "distance": 1}`
	if out := post(t, u, "["+strings.Repeat(rec+",", 2)+rec+"]", 200); out["accepted"] != 3.0 {
		t.Errorf("3 records: %v", out)
	}
	before := m.datasets["rides"].seq
	out := post(t, u, "["+strings.Repeat(rec+",", 3)+rec+"]", 413)
	if msg, _ := out["error"].(string); !strings.Contains(msg, "more than 3 records") {
		t.Errorf("4 records: %v", out)
	}
	if got := m.datasets["rides"].seq; got != before {
		t.Errorf("a refused body added %d records", got-before)
	}
	if got := series(t, reg, MetricRecordsRejected); got["dataset=rides,reason=too_large"] != 1 {
		t.Errorf("rejected: %v", got)
	}
}

// TestIterateDecodeAllocations bounds what a 1 MiB body of empty objects costs with
// the default record bound (before the streaming decoder: ~97 MB and 1.7 million
// allocations for 349,524 records; see BenchmarkIterateDecode).
func TestIterateDecodeAllocations(t *testing.T) {
	cfg := smallConfig(t, refCSV, "", "")
	m, _ := newTestMonitor(t, cfg)
	d := m.datasets["rides"]
	body := iterateBodies()["empty_objects"]
	var err error
	allocs := testing.AllocsPerRun(3, func() { _, err = d.decodeRecords(body, DefaultIterateMaxRecords) })
	if !errors.Is(err, errTooManyRecords) {
		t.Fatalf("err %v, want errTooManyRecords", err)
	}
	res := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = d.decodeRecords(body, DefaultIterateMaxRecords)
		}
	})
	t.Logf("1 MiB of {}: %.0f allocations, %d bytes per body", allocs, res.AllocedBytesPerOp())
	if allocs > 1000 || res.AllocedBytesPerOp() > 4<<20 {
		t.Errorf("%.0f allocations, %d bytes: want at most 1000 and 4 MiB", allocs, res.AllocedBytesPerOp())
	}
}

// FuzzIterateWalker compares the streaming decoder with the decoder it replaced
// (encoding/json into a map per record, kept below as the reference): same records
// for every body the reference accepts, and no body accepted that it refuses. The
// one difference: a field repeated in an object whose earlier value is bad is an
// error for the walker (the reference kept the last value only).
func FuzzIterateWalker(f *testing.F) {
	for _, s := range []string{`{"zone":"a","distance":1.5,"prediction":10,"duration":11}`,
		`[{"zone":"b","distance":"2.5"},{"zone":132.0,"distance":null}]`, `[]`, `{}`, `[{}, {"x": [1, {"y": "}"}]}]`,
		`{"zone":true,"distance":1e309}`, `{"distance":"NaN"}`, `[[]]`, `{"zone":{"$gt":""}}`, `[null]`,
		`{"zo\u006ee":"\u00e9\"","distance":"-0"}`, " [ {\"zone\" : \"a\" } , {} ] ", `{"zone":"a"} x`} {
		f.Add([]byte(s))
	}
	cfg := smallConfig(f, refCSV, "", "")
	m, err := New(f.Context(), cfg, prometheus.NewRegistry(), quietLogger())
	if err != nil {
		f.Fatal(err)
	}
	d := m.datasets["rides"]
	f.Fuzz(func(t *testing.T, body []byte) {
		want, werr := referenceDecode(d, body)
		got, gerr := d.decodeRecords(body, 0)
		switch {
		case werr != nil && gerr != nil:
			return
		case werr != nil:
			t.Fatalf("%q: walker accepted what the reference refused: %v", body, werr)
		case gerr != nil:
			if !strings.Contains(gerr.Error(), "field") {
				t.Fatalf("%q: walker refused what the reference accepted: %v", body, gerr)
			}
			return // a repeated field with a bad earlier value
		}
		if got.n != len(want) {
			t.Fatalf("%q: %d records, want %d", body, got.n, len(want))
		}
		nn, nc := len(d.numNames), len(d.catNames)
		for i, w := range want {
			b, k := got.blocks[i/blockRecords], i%blockRecords
			g := refRecord{num: b.num[k*nn : (k+1)*nn], numOK: b.numOK[k*nn : (k+1)*nn], cat: b.cat[k*nc : (k+1)*nc], catOK: b.catOK[k*nc : (k+1)*nc],
				pred: b.pred[k], predOK: b.predOK[k], tgt: b.tgt[k], tgtOK: b.tgtOK[k]}
			if !sameRecord(g, w) {
				t.Fatalf("%q: record %d = %+v, want %+v", body, i, g, w)
			}
		}
	})
}

type refRecord struct {
	num    []float64
	numOK  []bool
	cat    []string
	catOK  []bool
	pred   float64
	predOK bool
	tgt    float64
	tgtOK  bool
}

func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func sameRecord(a, b refRecord) bool {
	if !sameFloat(a.pred, b.pred) || a.predOK != b.predOK || !sameFloat(a.tgt, b.tgt) || a.tgtOK != b.tgtOK {
		return false
	}
	for j := range a.num {
		if !sameFloat(a.num[j], b.num[j]) || a.numOK[j] != b.numOK[j] {
			return false
		}
	}
	for j := range a.cat {
		if a.cat[j] != b.cat[j] || a.catOK[j] != b.catOK[j] {
			return false
		}
	}
	return true
}

// referenceDecode is the /iterate decoder before the streaming one.
func referenceDecode(d *dataset, body []byte) ([]refRecord, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, errors.New("empty body")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var objs []map[string]any
	switch body[0] {
	case '{':
		var o map[string]any
		if err := dec.Decode(&o); err != nil {
			return nil, err
		}
		objs = []map[string]any{o}
	case '[':
		if err := dec.Decode(&objs); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("want a JSON object or an array of objects")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data")
	}
	recs := make([]refRecord, len(objs))
	for i, o := range objs {
		if o == nil {
			return nil, fmt.Errorf("record %d: null", i)
		}
		r := refRecord{num: make([]float64, len(d.numNames)), numOK: make([]bool, len(d.numNames)),
			cat: make([]string, len(d.catNames)), catOK: make([]bool, len(d.catNames))}
		var err error
		for j, n := range d.numNames {
			if r.num[j], r.numOK[j], err = refNum(o[n]); err != nil {
				return nil, err
			}
		}
		for j, n := range d.catNames {
			if r.cat[j], r.catOK[j], err = refCat(o[n]); err != nil {
				return nil, err
			}
		}
		if r.pred, r.predOK, err = refNum(o[d.cfg.PredictionColumn()]); err != nil {
			return nil, err
		}
		if r.tgt, r.tgtOK, err = refNum(o[d.cfg.TargetColumn()]); err != nil {
			return nil, err
		}
		recs[i] = r
	}
	return recs, nil
}

func refNum(v any) (float64, bool, error) {
	switch x := v.(type) {
	case nil:
		return 0, false, nil
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil, err
	case string:
		if x == "" {
			return 0, false, nil
		}
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, false, err
		}
		return f, !math.IsNaN(f) && !math.IsInf(f, 0), nil
	}
	return 0, false, errors.New("not a number")
}

func refCat(v any) (string, bool, error) {
	switch x := v.(type) {
	case nil:
		return "", false, nil
	case string:
		return x, true, nil
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return "", false, err
		}
		return report.FormatCategoryNumber(f), true, nil
	case bool:
		return strconv.FormatBool(x), true, nil
	}
	return "", false, errors.New("not a string or number")
}

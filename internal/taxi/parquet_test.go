package taxi

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The expected figures are those of data/SOURCES.md, computed there independently of this code.
var months = []struct {
	file          string
	rows, keep    int
	nullFlagGroup int // rows where store_and_fwd_flag, RatecodeID, passenger_count, payment_type are null
}{
	{"green_tripdata_2021-01.parquet", 76518, 73908, 36047},
	{"green_tripdata_2021-02.parquet", 64572, 61921, 29109},
	{"green_tripdata_2021-03.parquet", 83827, 80372, 40534},
	{"green_tripdata_2022-01.parquet", 62495, 59603, 6295},
	{"green_tripdata_2022-02.parquet", 69399, 66097, 7421},
	{"green_tripdata_2022-03.parquet", 78537, 74507, 8065},
	{"green_tripdata_2023-01.parquet", 68211, 65946, 4324},
	{"green_tripdata_2023-02.parquet", 64809, 62574, 4821},
	{"green_tripdata_2023-03.parquet", 72044, 69392, 4537},
	{"green_tripdata_2024-03.parquet", 57457, 55139, 2097},
}

func dataPath(name string) string { return filepath.Join("..", "..", "data", name) }

func TestReadRealMonths(t *testing.T) {
	for _, m := range months {
		t.Run(m.file, func(t *testing.T) {
			trips, err := ReadFile(context.Background(), dataPath(m.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(trips) != m.rows {
				t.Fatalf("rows = %d, want %d", len(trips), m.rows)
			}
			keep, nulls, zeroDist := 0, 0, 0
			for i := range trips {
				tr := &trips[i]
				if tr.KeepForTraining() {
					keep++
				}
				if tr.StoreAndFwdFlag == nil && tr.RatecodeID == nil && tr.PassengerCount == nil && tr.PaymentType == nil && tr.CongestionSurcharge == nil {
					nulls++
				}
				if tr.PULocationID == nil || *tr.PULocationID < 1 || *tr.PULocationID > 265 {
					t.Fatalf("row %d: PULocationID %v out of 1..265", i, tr.PULocationID)
				}
				if tr.EhailFee != nil {
					t.Fatalf("row %d: ehail_fee %v, the TLC files hold only nulls", i, *tr.EhailFee)
				}
				if tr.TripDistance != nil && *tr.TripDistance == 0 {
					zeroDist++
				}
			}
			if keep != m.keep {
				t.Errorf("rows with 1 <= duration <= 60: %d, want %d", keep, m.keep)
			}
			if nulls != m.nullFlagGroup {
				t.Errorf("rows with the null group: %d, want %d", nulls, m.nullFlagGroup)
			}
			if zeroDist < 2000 || zeroDist > 4400 {
				t.Errorf("zero-distance trips: %d, SOURCES.md says 2k-4.4k a month", zeroDist)
			}
		})
	}
}

func TestReadKnownValues(t *testing.T) {
	trips, err := ReadFile(context.Background(), dataPath("green_tripdata_2021-01.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	// Naive wall-clock timestamps: the minimum pickup is 2009-01-01 00:03:25 (SOURCES.md),
	// the maximum 2021-01-31 23:46:45; no shift to or from UTC.
	var lo, hi time.Time
	var maxDist float64
	for i, tr := range trips {
		p := tr.Pickup.Time
		if i == 0 || p.Before(lo) {
			lo = p
		}
		if p.After(hi) {
			hi = p
		}
		if tr.TripDistance != nil && *tr.TripDistance > maxDist {
			maxDist = *tr.TripDistance
		}
	}
	if got := lo.Format(time.DateTime); got != "2009-01-01 00:03:25" {
		t.Errorf("min pickup %s", got)
	}
	if got := hi.Format(time.DateTime); got != "2021-01-31 23:46:45" {
		t.Errorf("max pickup %s", got)
	}
	if maxDist < 244152 || maxDist >= 244153 {
		t.Errorf("max trip_distance %v, SOURCES.md says 244,152", maxDist)
	}
}

func TestReadRejectsCorruptAndForeign(t *testing.T) {
	raw, err := os.ReadFile(dataPath("green_tripdata_2021-02.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":       {},
		"not parquet": []byte("VendorID,PULocationID\n1,2\n"),
		"truncated":   raw[:len(raw)/2],
		"bad footer":  append(append([]byte{}, raw[:len(raw)-8]...), 0xff, 0xff, 0xff, 0x7f, 'P', 'A', 'R', '1'),
	}
	corrupt := append([]byte{}, raw...)
	for i := 4; i < len(corrupt)/2; i += 97 {
		corrupt[i] ^= 0x5a
	}
	cases["corrupt pages"] = corrupt
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Read(context.Background(), bytes.NewReader(b), int64(len(b)))
			if err == nil {
				t.Fatal("no error")
			}
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("empty error")
			}
		})
	}
}

func TestLocalTimeJSON(t *testing.T) {
	for _, in := range []string{"2022-01-01 10:15:00", "2022-01-01T10:15:00", "2022-01-01T10:15:00Z", "2022-01-01T10:15:00-05:00"} {
		v, err := ParseLocalTime(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if v.String() != "2022-01-01T10:15:00" {
			t.Errorf("%s -> %s", in, v)
		}
	}
	if _, err := ParseLocalTime("yesterday"); err == nil {
		t.Error("no error for garbage")
	}
}

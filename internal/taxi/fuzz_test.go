package taxi

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
)

// reencoded is a TLC month written another way: INT32 counts and zones, timestamps
// in milliseconds, no congestion_surcharge, and no columns past it.
type reencoded struct {
	VendorID       *int32     `parquet:"VendorID,optional"`
	Pickup         *time.Time `parquet:"lpep_pickup_datetime,optional,timestamp(millisecond)"`
	Dropoff        *time.Time `parquet:"lpep_dropoff_datetime,optional,timestamp(millisecond)"`
	PULocationID   *int32     `parquet:"PULocationID,optional"`
	DOLocationID   *int32     `parquet:"DOLocationID,optional"`
	PassengerCount *int32     `parquet:"passenger_count,optional"`
	TripDistance   *float64   `parquet:"trip_distance,optional"`
	FareAmount     *float32   `parquet:"fare_amount,optional"`
}

func i32(v *int64) *int32 {
	if v == nil {
		return nil
	}
	x := int32(*v)
	return &x
}

func writeReencoded(t testing.TB, trips []Trip, codec compress.Codec) []byte {
	t.Helper()
	rows := make([]reencoded, len(trips))
	for i, tr := range trips {
		r := reencoded{VendorID: i32(tr.VendorID), PULocationID: i32(tr.PULocationID), DOLocationID: i32(tr.DOLocationID),
			PassengerCount: i32(tr.PassengerCount), TripDistance: tr.TripDistance}
		if tr.Pickup != nil {
			r.Pickup = &tr.Pickup.Time
		}
		if tr.Dropoff != nil {
			r.Dropoff = &tr.Dropoff.Time
		}
		if tr.FareAmount != nil {
			f := float32(*tr.FareAmount)
			r.FareAmount = &f
		}
		rows[i] = r
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[reencoded](&buf, parquet.Compression(codec))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sampleTrips(t testing.TB, n int) []Trip {
	t.Helper()
	trips, err := ReadFile(context.Background(), "../../data/green_tripdata_2021-02.parquet")
	if err != nil {
		t.Skipf("no TLC month: %v", err)
	}
	return trips[:min(n, len(trips))]
}

// A month re-encoded with other codecs, narrower integers, millisecond timestamps and
// missing optional columns reads back with the original's values.
func TestReadReencodedParquet(t *testing.T) {
	orig := sampleTrips(t, 2000)
	for _, c := range []struct {
		name  string
		codec compress.Codec
	}{{"snappy", &parquet.Snappy}, {"none", &parquet.Uncompressed}, {"zstd", &parquet.Zstd}} {
		t.Run(c.name, func(t *testing.T) {
			data := writeReencoded(t, orig, c.codec)
			got, err := Read(context.Background(), bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(orig) {
				t.Fatalf("%d rows, want %d", len(got), len(orig))
			}
			eqI := func(a, b *int64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
			eqF := func(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
			for i := range orig {
				o, g := &orig[i], &got[i]
				if !eqI(o.VendorID, g.VendorID) || !eqI(o.PULocationID, g.PULocationID) || !eqI(o.DOLocationID, g.DOLocationID) ||
					!eqI(o.PassengerCount, g.PassengerCount) || !eqF(o.TripDistance, g.TripDistance) {
					t.Fatalf("row %d: got %+v, want %+v", i, g, o)
				}
				if (o.Pickup == nil) != (g.Pickup == nil) || (o.Pickup != nil && !o.Pickup.Equal(g.Pickup.Time)) {
					t.Fatalf("row %d: pickup %v, want %v", i, g.Pickup, o.Pickup)
				}
				if o.FareAmount != nil && (g.FareAmount == nil || float32(*g.FareAmount) != float32(*o.FareAmount)) {
					t.Fatalf("row %d: fare %v, want %v", i, g.FareAmount, *o.FareAmount)
				}
				if g.CongestionSurcharge != nil || g.TipAmount != nil {
					t.Fatalf("row %d: absent columns read as values", i)
				}
			}
		})
	}
}

// FuzzReadParquet: any bytes give trips or a clear error, never a panic. Corpus:
// testdata/fuzz/FuzzReadParquet; the seeds are small valid files.
func FuzzReadParquet(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("PAR1PAR1"))
	if trips, err := ReadFile(context.Background(), "../../data/green_tripdata_2021-02.parquet"); err == nil {
		f.Add(writeReencoded(f, trips[:5], &parquet.Snappy))
		f.Add(writeReencoded(f, trips[:3], &parquet.Uncompressed))
	}
	if b, err := os.ReadFile("testdata/small.parquet"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		trips, err := Read(context.Background(), bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("empty error")
			}
			return
		}
		_ = trips
	})
}

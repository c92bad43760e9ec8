package monitor

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// iterateBodies are /iterate bodies of about 1 MiB (the default body bound): empty
// objects (the most records per byte) and taxi records with an ignored field.
func iterateBodies() map[string][]byte {
	var empty, rides bytes.Buffer
	empty.WriteByte('[')
	for empty.Len() < 1<<20-4 {
		if empty.Len() > 1 {
			empty.WriteByte(',')
		}
		empty.WriteString("{}")
	}
	empty.WriteByte(']')
	rides.WriteByte('[')
	for i := 0; rides.Len() < 1<<20-200; i++ {
		if i > 0 {
			rides.WriteByte(',')
		}
		fmt.Fprintf(&rides, `{"PULocationID":%d,"DOLocationID":%d,"trip_distance":%.2f,"duration":%.1f,"prediction":%.1f,"note":"x"}`,
			1+i%265, 1+(i*7)%265, float64(i%300)/10, float64(i%60), float64(i%50))
	}
	rides.WriteByte(']')
	return map[string][]byte{"empty_objects": empty.Bytes(), "rides": rides.Bytes()}
}

// BenchmarkIterateDecode decodes 1 MiB /iterate bodies: bytes and allocations per
// body, without a record bound (the decoder alone) and with the default bound (the
// body of empty objects is refused after DefaultIterateMaxRecords).
func BenchmarkIterateDecode(b *testing.B) {
	m := benchMonitor(b, 3000)
	d := m.datasets["taxi"]
	for name, body := range iterateBodies() {
		for _, bound := range []int{0, DefaultIterateMaxRecords} {
			b.Run(fmt.Sprintf("%s/max=%d", name, bound), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				var n int
				for b.Loop() {
					nrec, err := decodeForBench(d, body, bound)
					if err != nil && !errors.Is(err, errTooManyRecords) {
						b.Fatal(err)
					}
					n = nrec
				}
				b.ReportMetric(float64(n), "records/op")
			})
		}
	}
}
func decodeForBench(d *dataset, body []byte, maxRecords int) (int, error) {
	r, err := d.decodeRecords(body, maxRecords)
	if err != nil {
		return 0, err
	}
	return r.n, nil
}

// Command mkrides writes real TLC green-taxi rides as JSON lines (the /predict body,
// without id): the fixtures in testdata/online and the rides of the load programs.
//
//	go run ./bench/mkrides -in data/green_tripdata_2021-02.parquet -n 200 -stride 300 > testdata/online/rides.jsonl
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/modelmon/modelmon/internal/taxi"
)

func main() {
	in := flag.String("in", "data/green_tripdata_2021-02.parquet", "TLC parquet month")
	n := flag.Int("n", 200, "rides to write (those that have PULocationID, DOLocationID and trip_distance)")
	stride := flag.Int("stride", 1, "take every stride-th ride of the file")
	flag.Parse()
	trips, err := taxi.ReadFile(context.Background(), *in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkrides:", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(w)
	written := 0
	for i := 0; i < len(trips); i += max(*stride, 1) {
		t := &trips[i]
		if written == *n {
			break
		}
		if t.PULocationID == nil || t.DOLocationID == nil || t.TripDistance == nil {
			continue
		}
		if err := enc.Encode(t); err != nil {
			fmt.Fprintln(os.Stderr, "mkrides:", err)
			os.Exit(1)
		}
		written++
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "mkrides:", err)
		os.Exit(1)
	}
}

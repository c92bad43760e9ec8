// Command insertrate measures the raw InsertMany rate of full prediction records (the
// documents the online service writes) into a MongoDB-protocol server: by default an
// embedded FerretDB (SQLite backend) in a temporary directory, as in the benchmark
// stack. It is the ceiling that the online service's /predict throughput is compared to.
//
//	go run ./bench/insertrate -n 60000 -batch 512
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/mongotest"
	"github.com/modelmon/modelmon/internal/taxi"
)

func main() {
	var (
		dataPath = flag.String("data", "data/green_tripdata_2021-02.parquet", "TLC parquet month whose rides become the records")
		n        = flag.Int("n", 60000, "records to insert")
		batch    = flag.Int("batch", 512, "records per InsertMany")
		writers  = flag.Int("writers", 1, "InsertMany calls in flight at once")
		uri      = flag.String("mongodb", "", "MongoDB URI; empty starts an embedded FerretDB in a temporary directory")
		dir      = flag.String("dir", "", "directory for the embedded FerretDB (default: a new temporary directory, removed at exit)")
		cpuProf  = flag.String("cpuprofile", "", "write a CPU profile of the inserts (client and embedded server) to this file")
		syncMode = flag.String("sync", "full", "SQLite synchronous pragma of the embedded FerretDB: full (SQLite's default: fsync at every commit) or normal (WAL: fsync at checkpoints)")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *dataPath, *n, *batch, *writers, *uri, *dir, *syncMode, *cpuProf); err != nil {
		fmt.Fprintln(os.Stderr, "insertrate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dataPath string, n, batch, writers int, uri, dir, syncMode, cpuProf string) error {
	trips, err := taxi.ReadFile(ctx, dataPath)
	if err != nil {
		return err
	}
	if uri == "" {
		if dir == "" {
			d, err := os.MkdirTemp("", "insertrate-")
			if err != nil {
				return fmt.Errorf("temp dir: %w", err)
			}
			defer os.RemoveAll(d)
			dir = d
		}
		srv, err := mongotest.Start(ctx, mongotest.Options{Dir: dir, Addr: "127.0.0.1:0", Pragmas: []string{"synchronous(" + syncMode + ")"}})
		if err != nil {
			return err
		}
		defer srv.Stop()
		uri = srv.URI
		fmt.Printf("embedded FerretDB %s in %s\n", srv.Addr, dir)
	}
	client, err := mongodb.Connect(ctx, uri)
	if err != nil {
		return err
	}
	defer client.Disconnect(context.Background())
	coll := client.Database(mongodb.Database).Collection("insertrate_" + strconv.FormatInt(time.Now().UnixNano(), 36))

	now := time.Now().UTC()
	docs := make([]any, 0, n)
	for i := 0; len(docs) < n; i++ {
		t := &trips[i%len(trips)]
		if t.PULocationID == nil || t.DOLocationID == nil || t.TripDistance == nil {
			continue
		}
		id := fmt.Sprintf("bench-%d", i)
		p := mongodb.Prediction{ID: id, RideID: id, PUDO: taxi.PUDO(*t.PULocationID, *t.DOLocationID),
			PUDOKnown: true, Prediction: 17.5, ModelVersion: "sha256:2630501e73f3adfa", ReceivedAt: now}
		p.SetTrip(t)
		raw, err := p.MarshalBSON()
		if err != nil {
			return err
		}
		docs = append(docs, raw)
	}
	fmt.Printf("%d records of %d bytes (first), batch %d, %d writer(s)\n", n, len(docs[0].([]byte)), batch, writers)

	// Warm up: create the collection.
	if _, err := coll.InsertOne(ctx, map[string]any{"_id": "warmup"}); err != nil {
		return fmt.Errorf("warm-up insert: %w", err)
	}
	if cpuProf != "" {
		f, err := os.Create(cpuProf)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	start := time.Now()
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(int64(batch))) - batch
				if lo >= n || ctx.Err() != nil {
					return
				}
				hi := min(lo+batch, n)
				t0 := time.Now()
				_, err := coll.InsertMany(ctx, docs[lo:hi], options.InsertMany().SetOrdered(false))
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if firstErr != nil {
		return fmt.Errorf("insert: %w", firstErr)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	fmt.Printf("inserted %d records in %v: %.0f docs/s; InsertMany latency p50 %v p99 %v max %v\n",
		n, el.Round(time.Millisecond), float64(n)/el.Seconds(),
		lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)*99/100].Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
	return nil
}

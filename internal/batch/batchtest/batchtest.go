// Package batchtest builds test fixtures of the batch pipeline from real TLC rides:
// logged-prediction documents in the online logging schema, their targets and target
// CSV files, and an embedded FerretDB to hold them.
package batchtest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/mongotest"
	"github.com/modelmon/modelmon/internal/taxi"
	"github.com/modelmon/modelmon/internal/testutil"
)

// RepoRoot is the module's root directory (testutil.FindRepoRoot; it panics when
// the tests run outside the repository).
func RepoRoot() string {
	root, err := testutil.FindRepoRoot()
	if err != nil {
		panic(err)
	}
	return root
}

// DataPath is a file of the repository's data/ directory.
func DataPath(name string) string { return filepath.Join(RepoRoot(), "data", name) }

// ModelPath is the default model artifact.
func ModelPath() string { return filepath.Join(RepoRoot(), "models", "duration_model.json") }

// LoadModel loads the default model.
func LoadModel(t testing.TB) *model.Model {
	t.Helper()
	m, err := model.Load(ModelPath())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Mongo starts an embedded FerretDB for the test and returns its URI and a
// connected database called mongodb.Database.
func Mongo(t testing.TB) (uri string, db *mongo.Database) {
	t.Helper()
	ctx := context.Background()
	srv, err := mongotest.Start(ctx, mongotest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	c, err := mongo.Connect(options.Client().ApplyURI(srv.URI))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return srv.URI, c.Database(mongodb.Database)
}

// Ride is one logged prediction built from a real trip.
type Ride struct {
	ID         string
	Trip       taxi.Trip
	Prediction float64
	ReceivedAt time.Time
	Duration   float64 // the target, minutes
}

// Rides returns n rides from the TLC file path, starting at the offset-th trip that
// has the model's inputs and both timestamps, scored with m, ids "<prefix>-<k>",
// received evenly spread over w.
func Rides(ctx context.Context, path string, m *model.Model, prefix string, offset, n int, w batch.Window) ([]Ride, error) {
	trips, err := taxi.ReadFile(ctx, path)
	if err != nil {
		return nil, err
	}
	out := make([]Ride, 0, n)
	step := w.End.Sub(w.Start) / time.Duration(n)
	k := 0
	for i := range trips {
		t := &trips[i]
		if t.PULocationID == nil || t.DOLocationID == nil || t.TripDistance == nil || t.Pickup == nil || t.Dropoff == nil {
			continue
		}
		if k < offset {
			k++
			continue
		}
		dur, _ := t.DurationMinutes()
		j := len(out)
		out = append(out, Ride{
			ID:         prefix + "-" + strconv.Itoa(offset+j),
			Trip:       *t,
			Prediction: m.Predict(taxi.PUDO(*t.PULocationID, *t.DOLocationID), []float64{*t.TripDistance}),
			ReceivedAt: w.Start.Add(time.Duration(j) * step).Truncate(time.Millisecond),
			Duration:   dur,
		})
		if len(out) == n {
			return out, nil
		}
	}
	return nil, fmt.Errorf("%s: only %d usable trips after offset %d", path, len(out), offset)
}

func orNull[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func timeOrNull(p *taxi.LocalTime) any {
	if p == nil {
		return nil
	}
	return p.Format(taxi.LocalTimeFormat)
}

// Doc is the ride's document in the online logging schema (prediction_service.data).
func (r Ride) Doc(modelVersion string) bson.D {
	t := &r.Trip
	return bson.D{
		{Key: "_id", Value: r.ID},
		{Key: "id", Value: r.ID},
		{Key: "VendorID", Value: orNull(t.VendorID)},
		{Key: "lpep_pickup_datetime", Value: timeOrNull(t.Pickup)},
		{Key: "lpep_dropoff_datetime", Value: timeOrNull(t.Dropoff)},
		{Key: "store_and_fwd_flag", Value: orNull(t.StoreAndFwdFlag)},
		{Key: "RatecodeID", Value: orNull(t.RatecodeID)},
		{Key: "PULocationID", Value: orNull(t.PULocationID)},
		{Key: "DOLocationID", Value: orNull(t.DOLocationID)},
		{Key: "passenger_count", Value: orNull(t.PassengerCount)},
		{Key: "trip_distance", Value: orNull(t.TripDistance)},
		{Key: "fare_amount", Value: orNull(t.FareAmount)},
		{Key: "extra", Value: orNull(t.Extra)},
		{Key: "mta_tax", Value: orNull(t.MtaTax)},
		{Key: "tip_amount", Value: orNull(t.TipAmount)},
		{Key: "tolls_amount", Value: orNull(t.TollsAmount)},
		{Key: "ehail_fee", Value: orNull(t.EhailFee)},
		{Key: "improvement_surcharge", Value: orNull(t.ImprovementSurcharge)},
		{Key: "total_amount", Value: orNull(t.TotalAmount)},
		{Key: "payment_type", Value: orNull(t.PaymentType)},
		{Key: "trip_type", Value: orNull(t.TripType)},
		{Key: "congestion_surcharge", Value: orNull(t.CongestionSurcharge)},
		{Key: "PU_DO", Value: taxi.PUDO(*t.PULocationID, *t.DOLocationID)},
		{Key: "prediction", Value: r.Prediction},
		{Key: "model_version", Value: modelVersion},
		{Key: "received_at", Value: r.ReceivedAt.UTC()},
	}
}

// InsertRides inserts the rides' documents into coll with InsertMany batches.
func InsertRides(ctx context.Context, coll *mongo.Collection, rides []Ride, modelVersion string) error {
	const batchSize = 1000
	for i := 0; i < len(rides); i += batchSize {
		docs := make([]any, 0, batchSize)
		for _, r := range rides[i:min(i+batchSize, len(rides))] {
			docs = append(docs, r.Doc(modelVersion))
		}
		if _, err := coll.InsertMany(ctx, docs); err != nil {
			return fmt.Errorf("insert rides: %w", err)
		}
	}
	return nil
}

// Targets are the rides' targets.
func Targets(rides []Ride) []batch.Target {
	out := make([]batch.Target, len(rides))
	for i, r := range rides {
		out[i] = batch.Target{ID: r.ID, Value: r.Duration}
	}
	return out
}

// WriteTargetsCSV writes "id,duration" lines as send_data.py does (no header unless
// header is set).
func WriteTargetsCSV(path string, targets []batch.Target, header bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if header {
		fmt.Fprintln(w, "id,duration")
	}
	for _, t := range targets {
		fmt.Fprintf(w, "%s,%s\n", t.ID, strconv.FormatFloat(t.Value, 'f', -1, 64))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Count counts the documents of coll matching filter in Go (FerretDB's
// CountDocuments loads every document anyway).
func Count(ctx context.Context, coll *mongo.Collection, filter any) (int, error) {
	cur, err := coll.Find(ctx, filter, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return 0, err
	}
	defer cur.Close(ctx)
	n := 0
	for cur.Next(ctx) {
		n++
	}
	return n, cur.Err()
}

// CopyData makes dir/data a real folder holding copies of the repository's data
// files, as a deployment's DATA_DIR does. A symbolic link would not do: workflow
// file inputs may not lead out of DATA_DIR through a link (internal/datadir).
func CopyData(t testing.TB, dir string) {
	t.Helper()
	src := filepath.Join(RepoRoot(), "data")
	dst := filepath.Join(dir, "data")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatalf("copy %s to %s: %v", src, dst, err)
	}
}

package activities

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/batch/batchtest"
	"github.com/modelmon/modelmon/internal/estimate"
	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/mongotest"
	"github.com/modelmon/modelmon/internal/report"
)

var (
	mongoClient *mongo.Client
	testModel   *model.Model
	day         = batch.Window{Start: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2022, 1, 2, 0, 0, 0, 0, time.UTC)}
)

// TestMain starts one FerretDB for the package; each test uses its own database.
func TestMain(m *testing.M) {
	os.Exit(mongotest.Main(m, func(_ context.Context, s *mongotest.Server) (func(), error) {
		var err error
		if mongoClient, err = mongo.Connect(options.Client().ApplyURI(s.URI)); err != nil {
			return nil, err
		}
		disconnect := func() { _ = mongoClient.Disconnect(context.Background()) }
		if testModel, err = model.Load(batchtest.ModelPath()); err != nil {
			disconnect()
			return nil, err
		}
		return disconnect, nil
	}))
}

type fixture struct {
	a     *Activities
	env   *testsuite.TestActivityEnvironment
	rides []batchtest.Ride
}

// newFixture logs n rides of day 1 into a fresh database, plus noise the fetch must
// leave out: rides outside the window and documents without a prediction.
func newFixture(t *testing.T, n, chunkRows int) *fixture {
	t.Helper()
	ctx := context.Background()
	db := mongoClient.Database(fmt.Sprintf("t_%s", strings.NewReplacer("/", "_").Replace(t.Name())))
	_ = db.Drop(ctx)
	rides, err := batchtest.Rides(ctx, batchtest.DataPath("green_tripdata_2022-01.parquet"), testModel, "r", 0, n+5, day)
	if err != nil {
		t.Fatal(err)
	}
	outside := rides[n:]
	rides = rides[:n]
	for i := range outside {
		outside[i].ReceivedAt = day.End.Add(time.Duration(i) * time.Second) // end is exclusive
	}
	if err := batchtest.InsertRides(ctx, db.Collection(mongodb.CollectionData), append(append([]batchtest.Ride{}, rides...), outside...), testModel.Version); err != nil {
		t.Fatal(err)
	}
	bad := []any{
		bson.D{{Key: "_id", Value: "no-prediction"}, {Key: "received_at", Value: day.Start.Add(time.Minute)}, {Key: "prediction", Value: nil}},
		bson.D{{Key: "_id", Value: "string-prediction"}, {Key: "received_at", Value: day.Start.Add(time.Minute)}, {Key: "prediction", Value: "12"}},
	}
	if _, err := db.Collection(mongodb.CollectionData).InsertMany(ctx, bad); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	batchtest.CopyData(t, dataDir)
	a := &Activities{DB: db, Model: testModel, ReportsDir: filepath.Join(t.TempDir(), "reports"), DataDir: dataDir, ChunkRows: chunkRows, Hostname: "test-host"}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	return &fixture{a: a, env: env, rides: rides}
}

func (f *fixture) newEnv() *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(f.a)
	return env
}

func run[T any](t *testing.T, env *testsuite.TestActivityEnvironment, fn any, in any) (*T, error) {
	t.Helper()
	v, err := env.ExecuteActivity(fn, in)
	if err != nil {
		return nil, err
	}
	var out T
	if err := v.Get(&out); err != nil {
		t.Fatal(err)
	}
	return &out, nil
}

func mustRun[T any](t *testing.T, env *testsuite.TestActivityEnvironment, fn any, in any) *T {
	t.Helper()
	out, err := run[T](t, env, fn, in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantBadInput(t *testing.T, err error, contains string) {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != batchapi.ErrBadInput || !ae.NonRetryable() {
		t.Fatalf("error %v, want a non-retryable %s", err, batchapi.ErrBadInput)
	}
	if !strings.Contains(err.Error(), contains) {
		t.Errorf("error %q does not mention %q", err, contains)
	}
}

const runKey = "wf/run"

func (f *fixture) fetch(t *testing.T) *batchapi.FetchResult {
	start := day.Start
	return mustRun[batchapi.FetchResult](t, f.env, f.a.FetchPredictions, batchapi.FetchInput{Run: runKey, Dataset: "taxi", WindowStart: &start, WindowEnd: day.End})
}

func TestFetchPredictionsStagesTheWindowInChunks(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 250, 100)
	res := f.fetch(t)
	if res.Current.Rows != 250 || res.Current.Chunks != 3 || res.Skipped != 2 || res.ResumedFromChunk != 0 {
		t.Fatalf("%+v", res)
	}
	if len(res.ModelVersions) != 1 || res.ModelVersions[0].Rows != 250 {
		t.Errorf("model versions %+v", res.ModelVersions)
	}
	// The staged rows are the window's rides (in no promised order), with their features.
	st := batch.NewStaging(f.a.DB)
	var ids []string
	err := st.Scan(ctx, res.Current, batch.ScanOptions{IDs: true}, func(c batch.Chunk) error {
		part, err := batch.DecodeIDs(c.IDs)
		ids = append(ids, part...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, r := range f.rides {
		want[r.ID] = true
	}
	for _, id := range ids {
		if !want[id] {
			t.Fatalf("staged %s, not a ride of the window", id)
		}
		delete(want, id)
	}
	if len(want) != 0 {
		t.Fatalf("%d rides not staged", len(want))
	}
	d, err := st.ReadDataset(ctx, res.Current, batch.Taxi().Report)
	if err != nil {
		t.Fatal(err)
	}
	// ReadDataset concatenates the chunks in seq order.
	k := indexInSeqOrder(t, st, res.Current, f.rides[17].ID)
	r := f.rides[17]
	if d.Prediction[k] != r.Prediction || d.Numerical["trip_distance"].Values[k] != *r.Trip.TripDistance ||
		d.Categorical["PULocationID"].Values[k] != fmt.Sprint(*r.Trip.PULocationID) || d.Target != nil {
		t.Errorf("ride %s staged wrong", r.ID)
	}
}

func TestFetchPredictionsResumesFromHeartbeat(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 250, 100)
	full := f.fetch(t)
	// A crashed attempt reported chunk 0 and also wrote chunks 1..5 (more than the
	// window needs) that it did not report.
	st := batch.NewStaging(f.a.DB)
	for seq := 1; seq <= 5; seq++ {
		if err := st.Put(ctx, runKey, batch.StageCurrent, seq, 1, batch.EncodeIDs([]string{"stale"}), []byte("junk")); err != nil {
			t.Fatal(err)
		}
	}
	env := f.newEnv()
	env.SetHeartbeatDetails(fetchProgress{Window: day, Seq: 1, Rows: 100})
	start := day.Start
	res := mustRun[batchapi.FetchResult](t, env, f.a.FetchPredictions, batchapi.FetchInput{Run: runKey, Dataset: "taxi", WindowStart: &start, WindowEnd: day.End})
	if res.ResumedFromChunk != 1 || res.Current != full.Current || res.ModelVersions[0].Rows != 250 || res.Skipped != 2 {
		t.Fatalf("resumed %+v, full %+v", res, full)
	}
	// Every ride staged exactly once, no stale chunk left.
	seen := map[string]int{}
	chunks := 0
	err := st.Scan(ctx, res.Current, batch.ScanOptions{IDs: true}, func(c batch.Chunk) error {
		chunks++
		if _, err := batch.DecodeDataset(c.Data); err != nil {
			return err
		}
		ids, err := batch.DecodeIDs(c.IDs)
		for _, id := range ids {
			seen[id]++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if chunks != 3 || len(seen) != 250 {
		t.Fatalf("%d chunks, %d ids", chunks, len(seen))
	}
	for _, r := range f.rides {
		if seen[r.ID] != 1 {
			t.Fatalf("ride %s staged %d times", r.ID, seen[r.ID])
		}
	}
	// Reported chunks that are gone: start over.
	env = f.newEnv()
	env.SetHeartbeatDetails(fetchProgress{Window: day, Seq: 9, Rows: 900})
	res = mustRun[batchapi.FetchResult](t, env, f.a.FetchPredictions, batchapi.FetchInput{Run: runKey, Dataset: "taxi", WindowStart: &start, WindowEnd: day.End})
	if res.ResumedFromChunk != 0 || res.Current != full.Current {
		t.Fatalf("restarted %+v", res)
	}
}

func TestFetchPredictionsResolvesAnOpenWindow(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 10, 100)
	// No earlier run: the last 24 hours before the end.
	res := mustRun[batchapi.FetchResult](t, f.env, f.a.FetchPredictions, batchapi.FetchInput{Run: runKey, Dataset: "taxi", WindowEnd: day.End})
	if !res.Window.Start.Equal(day.Start) || res.Current.Rows != 10 {
		t.Fatalf("%+v", res)
	}
	// After a run that covered up to 06:00: from there.
	six := day.Start.Add(6 * time.Hour)
	if err := batch.NewResults(f.a.DB).Upsert(ctx, &batch.ResultDoc{ID: "taxi/x", Dataset: "taxi", Status: batch.StatusCompleted, WindowStart: day.Start, WindowEnd: six}); err != nil {
		t.Fatal(err)
	}
	if err := batch.NewResults(f.a.DB).Upsert(ctx, &batch.ResultDoc{ID: "taxi/y", Dataset: "taxi", Status: batch.StatusFailed, WindowStart: six, WindowEnd: day.End}); err != nil {
		t.Fatal(err)
	}
	res = mustRun[batchapi.FetchResult](t, f.newEnv(), f.a.FetchPredictions, batchapi.FetchInput{Run: runKey + "2", Dataset: "taxi", WindowEnd: day.End})
	wantRows := 0
	for _, r := range f.rides {
		if !r.ReceivedAt.Before(six) {
			wantRows++
		}
	}
	if !res.Window.Start.Equal(six) || res.Current.Rows != wantRows {
		t.Fatalf("%+v", res)
	}
	// Unknown dataset and reversed window: bad input.
	_, err := run[batchapi.FetchResult](t, f.newEnv(), f.a.FetchPredictions, batchapi.FetchInput{Run: runKey, Dataset: "bus", WindowEnd: day.End})
	wantBadInput(t, err, "unknown dataset")
	end := day.Start
	start := day.End
	_, err = run[batchapi.FetchResult](t, f.newEnv(), f.a.FetchPredictions, batchapi.FetchInput{Run: runKey, Dataset: "taxi", WindowStart: &start, WindowEnd: end})
	wantBadInput(t, err, "malformed window")
}

func TestJoinTargetFromCSVAndCollection(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 250, 100)
	cur := f.fetch(t)
	targets := batchtest.Targets(f.rides)
	targets[0].Value = 300 // out of the model's domain (1..60 min)
	// CSV with header, missing the last 10 rides.
	if err := batchtest.WriteTargetsCSV(filepath.Join(f.a.DataDir, "target.csv"), targets[:240], true); err != nil {
		t.Fatal(err)
	}
	inDomain := 0
	for _, tg := range targets[:240] {
		if tg.Value >= 1 && tg.Value <= 60 {
			inDomain++
		}
	}
	res := mustRun[batchapi.JoinResult](t, f.env, f.a.JoinTarget, batchapi.JoinInput{Run: runKey, Dataset: "taxi", Current: cur.Current, Targets: "target.csv"})
	if res.Matched != 240 || res.InDomain != inDomain || res.Targets.Chunks != 3 || !strings.HasPrefix(res.Source, "csv:") {
		t.Fatalf("%+v (in domain %d)", res, inDomain)
	}
	d, err := batch.NewStaging(f.a.DB).ReadDataset(ctx, res.Targets, batch.Taxi().Report)
	if err != nil {
		t.Fatal(err)
	}
	if d.Target[5] != targets[5].Value || d.TargetValid[0] || d.TargetValid[245] {
		t.Errorf("target column wrong: %v %v %v", d.Target[5], d.TargetValid[0], d.TargetValid[245])
	}

	// The collection, as uploaded by `starter targets` (twice: idempotent).
	for i := 0; i < 2; i++ {
		st, err := batch.UploadTargets(ctx, f.a.DB.Collection(mongodb.CollectionTarget), mongodb.FieldTargetDuration, targets[:240], 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		if (i == 0 && st.Inserted != 240) || (i == 1 && (st.Inserted != 0 || st.Duplicates != 240)) {
			t.Fatalf("upload %d: %+v", i, st)
		}
	}
	for _, mode := range []string{"scan", "in"} {
		f.a.TargetLookup = mode
		res2 := mustRun[batchapi.JoinResult](t, f.newEnv(), f.a.JoinTarget, batchapi.JoinInput{Run: runKey, Dataset: "taxi", Current: cur.Current})
		if res2.Matched != 240 || res2.InDomain != inDomain || res2.Source != "collection:target" {
			t.Errorf("%s: %+v", mode, res2)
		}
	}

	// Resume: chunks 0 and 2 done by an earlier attempt.
	env := f.newEnv()
	env.SetHeartbeatDetails(joinProgress{Done: []int{0, 2}, Matched: 190, InDomain: 189})
	res3 := mustRun[batchapi.JoinResult](t, env, f.a.JoinTarget, batchapi.JoinInput{Run: runKey, Dataset: "taxi", Current: cur.Current, Targets: "target.csv"})
	if res3.ResumedChunks != 2 || res3.Matched != 190+100 {
		t.Errorf("resumed join %+v", res3)
	}

	// Bad target files.
	_, err = run[batchapi.JoinResult](t, f.newEnv(), f.a.JoinTarget, batchapi.JoinInput{Run: runKey, Dataset: "taxi", Current: cur.Current, Targets: "nope.csv"})
	wantBadInput(t, err, "not found")
	if err := os.WriteFile(filepath.Join(f.a.DataDir, "broken.csv"), []byte("a,1\nb,oops\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = run[batchapi.JoinResult](t, f.newEnv(), f.a.JoinTarget, batchapi.JoinInput{Run: runKey, Dataset: "taxi", Current: cur.Current, Targets: "broken.csv"})
	wantBadInput(t, err, "line 2")
}

func TestScoreReferenceBadInput(t *testing.T) {
	f := newFixture(t, 1, 100)
	if err := os.WriteFile(filepath.Join(f.a.DataDir, "corrupt.parquet"), []byte("PAR1 this is not parquet PAR1"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := run[batchapi.ScoreReferenceResult](t, f.env, f.a.ScoreReference, batchapi.ScoreReferenceInput{Run: runKey, Dataset: "taxi", Reference: "corrupt.parquet"})
	wantBadInput(t, err, "corrupt.parquet")
	t.Logf("corrupt reference: %v", err)
	_, err = run[batchapi.ScoreReferenceResult](t, f.newEnv(), f.a.ScoreReference, batchapi.ScoreReferenceInput{Run: runKey, Dataset: "taxi", Reference: "missing.parquet"})
	wantBadInput(t, err, "not found")
	_, err = run[batchapi.ScoreReferenceResult](t, f.newEnv(), f.a.ScoreReference, batchapi.ScoreReferenceInput{Run: runKey, Dataset: "bus"})
	wantBadInput(t, err, "unknown dataset")
}

// TestPipelineActivities runs the six activities in order against FerretDB with the
// real reference, report.Compute and reporthtml.Render.
func TestPipelineActivities(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 500, 10_000)
	cur := f.fetch(t)
	if err := batchtest.WriteTargetsCSV(filepath.Join(f.a.DataDir, "target.csv"), batchtest.Targets(f.rides), false); err != nil {
		t.Fatal(err)
	}
	join := mustRun[batchapi.JoinResult](t, f.newEnv(), f.a.JoinTarget, batchapi.JoinInput{Run: runKey, Dataset: "taxi", Current: cur.Current, Targets: "target.csv"})
	t0 := time.Now()
	ref := mustRun[batchapi.ScoreReferenceResult](t, f.newEnv(), f.a.ScoreReference, batchapi.ScoreReferenceInput{Run: runKey, Dataset: "taxi"})
	t.Logf("ScoreReference: %d rows in %s", ref.Reference.Rows, time.Since(t0).Round(time.Millisecond))
	if ref.Reference.Rows < 50_000 || ref.ModelVersion != testModel.Version || !strings.HasSuffix(ref.Path, "data/green_tripdata_2021-01.parquet") {
		t.Fatalf("%+v", ref)
	}
	est, err := estimate.Load(filepath.Join(filepath.Dir(batchtest.ModelPath()), "duration_estimator.json"), testModel)
	if err != nil {
		t.Fatal(err)
	}
	f.a.Estimator = est
	cm := mustRun[batchapi.ComputeResult](t, f.newEnv(), f.a.ComputeMetrics, batchapi.ComputeInput{Run: runKey, Dataset: "taxi", Reference: ref.Reference, Current: cur.Current, Targets: join.Targets})
	t.Logf("ComputeMetrics: load %d ms, compute %d ms, report %d bytes", cm.LoadMS, cm.ComputeMS, cm.ReportBytes)
	if cm.Summary.CurrentRows != 500 || cm.Summary.ReferenceRows != ref.Reference.Rows || cm.Summary.RMSE == nil || cm.Summary.TargetRows != join.InDomain {
		t.Fatalf("%+v", cm.Summary)
	}
	// An earlier run of the dataset for the trend.
	results := batch.NewResults(f.a.DB)
	rmse := 7.0
	prev := batch.Window{Start: day.Start.Add(-24 * time.Hour), End: day.Start}
	if err := results.Upsert(ctx, &batch.ResultDoc{ID: batch.ReportID("taxi", prev), Dataset: "taxi", Status: batch.StatusCompleted,
		WindowStart: prev.Start, WindowEnd: prev.End, Summary: &batch.Summary{CurrentRows: 9, RMSE: &rmse}}); err != nil {
		t.Fatal(err)
	}
	html := mustRun[batchapi.SaveHTMLResult](t, f.newEnv(), f.a.SaveHTMLReport, batchapi.SaveHTMLInput{Run: runKey, Dataset: "taxi", Window: day, Report: cm.Report,
		Summary: cm.Summary, WorkflowID: "wf", RunID: "run", ModelVersion: ref.ModelVersion, GeneratedAt: day.End})
	want := filepath.Join(f.a.ReportsDir, "taxi", "taxi_20220101T000000Z_20220102T000000Z.html")
	if html.Path != want || html.TrendPoints != 2 || html.Host != "test-host" {
		t.Fatalf("%+v", html)
	}
	b, err := os.ReadFile(want)
	if err != nil || !strings.Contains(string(b), "<html") {
		t.Fatalf("html: %v", err)
	}
	in := batchapi.InsertResultsInput{Dataset: "taxi", Window: day, Status: batch.StatusCompleted, WorkflowID: "wf", RunID: "run", ModelVersion: ref.ModelVersion,
		Run: runKey, Report: &cm.Report, Summary: &cm.Summary, Rows: batch.RowCounts{Reference: ref.Reference.Rows, Current: 500},
		TimingsMS: map[string]int64{"FetchPredictions": 1}, HTMLPath: html.Path, HTMLHost: html.Host, StartedAt: day.End, Cleanup: false}
	for i := 0; i < 2; i++ { // a retried or repeated InsertResults
		res := mustRun[batchapi.InsertResultsResult](t, f.newEnv(), f.a.InsertResults, in)
		if res.ID != "taxi/2022-01-01T00:00:00Z/2022-01-02T00:00:00Z" {
			t.Fatal(res.ID)
		}
	}
	// A failed re-run keeps the completed result.
	failed := in
	failed.Status, failed.Error, failed.Report, failed.Summary, failed.Cleanup = batch.StatusFailed, "boom", nil, nil, true
	res := mustRun[batchapi.InsertResultsResult](t, f.newEnv(), f.a.InsertResults, failed)
	if !res.KeptCompleted || res.StagingDeleted == 0 {
		t.Errorf("failed insert %+v", res)
	}
	n, err := batchtest.Count(ctx, f.a.DB.Collection(mongodb.CollectionReport), bson.D{{Key: "_id", Value: res.ID}})
	if err != nil || n != 1 {
		t.Fatalf("%d documents: %v", n, err)
	}
	doc, _, err := results.Get(ctx, res.ID)
	if err != nil || doc.Status != batch.StatusCompleted || doc.HTMLPath != html.Path || doc.Summary == nil || doc.TimingsMS["FetchPredictions"] != 1 {
		t.Fatalf("%+v %v", doc, err)
	}
	rep, err := doc.ReportJSON()
	if err != nil || !strings.Contains(string(rep), `"regression"`) {
		t.Errorf("report %v", err)
	}
	checkSegments(t, rep, f.rides)
	checkEstimate(t, rep, est, f.rides, doc.Summary)
	if n, _ := batchtest.Count(ctx, f.a.DB.Collection(mongodb.CollectionStaging), bson.D{}); n != 0 {
		t.Errorf("%d staging documents left", n)
	}
	// A retry of the completed InsertResults whose earlier attempt saved the document and
	// deleted the staging (its worker died before reporting) succeeds; another run's
	// cannot use the missing staging.
	if res := mustRun[batchapi.InsertResultsResult](t, f.newEnv(), f.a.InsertResults, in); res.ID != doc.ID {
		t.Errorf("retried insert %+v", res)
	}
	other := in
	other.RunID = "other-run"
	if _, err := run[batchapi.InsertResultsResult](t, f.newEnv(), f.a.InsertResults, other); err == nil || !strings.Contains(err.Error(), "staged data incomplete") {
		t.Errorf("insert of another run without staging: %v", err)
	}
	// Staging gone: a late ComputeMetrics cannot succeed by retrying.
	_, err = run[batchapi.ComputeResult](t, f.newEnv(), f.a.ComputeMetrics, batchapi.ComputeInput{Run: runKey, Dataset: "taxi", Reference: ref.Reference, Current: cur.Current, Targets: join.Targets})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != batchapi.ErrStagingLost || !ae.NonRetryable() {
		t.Errorf("compute without staging: %v", err)
	}
}

// checkSegments checks the stored report's segments against counts made here from
// the input rides and the zone lookup file read with encoding/csv.
func checkSegments(t *testing.T, rep []byte, rides []batchtest.Ride) {
	t.Helper()
	var got struct {
		Segments map[string]map[string]struct {
			Verdict     string `json:"verdict"`
			CurrentRows int    `json:"current_rows"`
			Regression  *struct {
				Current *struct {
					Rows int      `json:"rows"`
					MAE  *float64 `json:"mae"`
				} `json:"current"`
			} `json:"regression"`
		} `json:"segments"`
	}
	if err := json.Unmarshal(rep, &got); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(batchtest.RepoRoot(), "data", "taxi_zone_lookup.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	borough := map[string]string{}
	for _, r := range recs[1:] { // LocationID, Borough, Zone, service_zone
		borough[r[0]] = r[1]
	}
	var manhattan, manhattanInDomain int
	bands := map[string]int{}
	for _, r := range rides {
		if borough[strconv.Itoa(int(*r.Trip.PULocationID))] == "Manhattan" {
			manhattan++
			if r.Duration >= 1 && r.Duration <= 60 {
				manhattanInDomain++
			}
		}
		h := r.Trip.Pickup.Hour()
		band := map[bool]string{true: "night"}[h < 6]
		switch {
		case h >= 20:
			band = "late"
		case h >= 16:
			band = "evening"
		case h >= 10:
			band = "midday"
		case h >= 6:
			band = "morning"
		}
		bands[band]++
	}
	m := got.Segments["pickup_borough"]["Manhattan"]
	t.Logf("pickup_borough Manhattan: %d rows (%d with a target in domain), verdict %s", manhattan, manhattanInDomain, m.Verdict)
	if manhattanInDomain == 0 || m.CurrentRows != manhattan || m.Regression == nil || m.Regression.Current == nil ||
		m.Regression.Current.Rows != manhattanInDomain || m.Regression.Current.MAE == nil {
		t.Errorf("segments.pickup_borough.Manhattan = %+v, want %d current rows, %d with targets", m, manhattan, manhattanInDomain)
	}
	for band, n := range bands {
		if c := got.Segments["pickup_hour_band"][band].CurrentRows; c != n {
			t.Errorf("pickup_hour_band %s: %d current rows, want %d", band, c, n)
		}
	}
	if len(got.Segments["dropoff_borough"]) == 0 {
		t.Error("no dropoff_borough segments")
	}
}

// indexInSeqOrder is the row of id in a stage read in seq order.
func indexInSeqOrder(t *testing.T, st batch.Staging, ref batch.StageRef, id string) int {
	t.Helper()
	parts := make([][]string, ref.Chunks)
	err := st.Scan(context.Background(), ref, batch.ScanOptions{IDs: true, NoData: true}, func(c batch.Chunk) error {
		ids, err := batch.DecodeIDs(c.IDs)
		parts[c.Seq] = ids
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range parts {
		for _, x := range p {
			if x == id {
				return n
			}
			n++
		}
	}
	t.Fatalf("%s not staged", id)
	return -1
}

// checkEstimate asserts that the stored report's performance_estimate is
// estimate.Estimate over the window's rides (features and prediction), next to the
// realized metrics, and that the summary carries the estimated RMSE for the trend.
func checkEstimate(t *testing.T, rep []byte, est *estimate.Estimator, rides []batchtest.Ride, sum *batch.Summary) {
	t.Helper()
	var got report.Report
	if err := json.Unmarshal(rep, &got); err != nil {
		t.Fatal(err)
	}
	recs := make([]estimate.Record, len(rides))
	for i, r := range rides {
		recs[i] = estimate.Record{PULocationID: *r.Trip.PULocationID, DOLocationID: *r.Trip.DOLocationID, TripDistance: *r.Trip.TripDistance, Prediction: r.Prediction}
	}
	want, err := est.Estimate(recs)
	if err != nil {
		t.Fatal(err)
	}
	pe := got.PerformanceEstimate
	if pe == nil {
		t.Fatalf("no performance_estimate in the stored report")
	}
	close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) } // row order of the sums
	if pe.Rows != want.Rows || !close(pe.RMSE, want.RMSE) || !close(pe.MAE, want.MAE) || !close(pe.ME, want.ME) ||
		!close(pe.Band.RMSE.Upper, want.Band.RMSE.Upper) || pe.UnknownZoneRows != want.UnknownZoneRows || pe.ReferenceBand != est.ReferenceBand(want.Rows) {
		t.Errorf("performance_estimate %+v, want %+v", *pe, want)
	}
	c := got.Regression.Current
	t.Logf("window of %d rides: estimated RMSE %.3f [%.3f, %.3f] MAE %.3f ME %.3f; realized RMSE %.3f MAE %.3f ME %.3f over %d rows",
		pe.Rows, pe.RMSE, pe.Band.RMSE.Lower, pe.Band.RMSE.Upper, pe.MAE, pe.ME, c.RMSE, c.MAE, c.ME, c.N)
	if sum.EstimatedRMSE == nil || *sum.EstimatedRMSE != pe.RMSE {
		t.Errorf("summary estimated_rmse %v, want %v", sum.EstimatedRMSE, pe.RMSE)
	}
}

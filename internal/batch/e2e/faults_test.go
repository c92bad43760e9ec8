package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/temporaltest"

	"github.com/modelmon/modelmon/activities"
	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/batch/batchtest"
	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/mongotest"
	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/taxi"
	"github.com/modelmon/modelmon/worker/batchworker"
	"github.com/modelmon/modelmon/workflows"
)

// Short timeouts of the fault tests, set by faultInterceptor on the workflow side
// (production defaults are untouched): a dead worker's heartbeating activity is
// retried after faultHeartbeat, a non-heartbeating one after faultStartToClose.
const (
	faultHeartbeat    = 3 * time.Second
	faultStartToClose = 15 * time.Second
	faultChunkRows    = 500
	faultRowsPerDay   = 1000
	xssDataset        = "xsstest"
	xssCollection     = "xss_data"
	xssPayload        = "<script>alert(1)</script>"
	xssImgPayload     = `"><img src=x onerror=alert(2)>`
)

// The six activities, in workflow order.
var activityNames = []string{"FetchPredictions", "JoinTarget", "ScoreReference", "ComputeMetrics", "SaveHTMLReport", "InsertResults"}

func init() {
	// The child process of the kill tests: a worker that blocks at one activity until
	// it is SIGKILLed. (init, not TestMain: e2e_test.go owns TestMain.)
	if os.Getenv("BATCH_E2E_FAULT_WORKER") == "1" {
		os.Exit(faultWorker())
	}
}

// faultDay is the i-th day of January 2022 as a window.
func faultDay(i int) batch.Window {
	s := time.Date(2022, 1, i, 0, 0, 0, 0, time.UTC)
	return batch.Window{Start: s, End: s.Add(24 * time.Hour)}
}

// Windows of the fault tests (one per case: each must end with its own report).
var (
	killDays     = map[string]int{"FetchPredictions": 10, "JoinTarget": 11, "ScoreReference": 12, "ComputeMetrics": 13, "SaveHTMLReport": 14, "InsertResults": 15}
	dbDownDays   = map[string]int{"FetchPredictions": 16, "ComputeMetrics": 17}
	corruptDay   = 18
	overlapDay   = 19
	xssDay       = 20
	taxiFaultDay = []int{10, 11, 12, 13, 14, 15, 16, 17, 18, 19}
)

// faultEnv is one Temporal server and one FerretDB (restartable) shared by the cases.
type faultEnv struct {
	env
	ferretDir string
	mu        sync.Mutex
	ferret    *mongotest.Server
	client    *mongo.Client
}

func setupFaults(t *testing.T) *faultEnv {
	t.Helper()
	ctx := context.Background()
	e := &faultEnv{ferretDir: t.TempDir()}
	srv, err := mongotest.Start(ctx, mongotest.Options{Dir: e.ferretDir})
	if err != nil {
		t.Fatal(err)
	}
	e.ferret = srv
	t.Cleanup(func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.ferret != nil {
			e.ferret.Stop()
		}
	})
	e.mongoURI = srv.URI
	// A short server selection timeout: with the database down an operation fails in
	// 2 s and the activity is retried with backoff (instead of waiting 30 s).
	e.client, err = mongo.Connect(options.Client().ApplyURI(srv.URI).SetServerSelectionTimeout(2 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.client.Disconnect(context.Background()) })
	e.db = e.client.Database(mongodb.Database)
	e.model = batchtest.LoadModel(t)
	e.dataDir = t.TempDir()
	e.reportsDir = filepath.Join(t.TempDir(), "reports")
	batchtest.CopyData(t, e.dataDir)

	n := (len(taxiFaultDay) + 1) * faultRowsPerDay
	all, err := batchtest.Rides(ctx, batchtest.DataPath("green_tripdata_2022-01.parquet"), e.model, "f", 0, n, faultDay(1))
	if err != nil {
		t.Fatal(err)
	}
	place := func(rides []batchtest.Ride, w batch.Window) {
		step := w.End.Sub(w.Start) / time.Duration(len(rides))
		for j := range rides {
			rides[j].ReceivedAt = w.Start.Add(time.Duration(j) * step).Truncate(time.Millisecond)
		}
	}
	for k, d := range taxiFaultDay {
		rides := all[k*faultRowsPerDay : (k+1)*faultRowsPerDay]
		place(rides, faultDay(d))
		if err := batchtest.InsertRides(ctx, e.db.Collection(mongodb.CollectionData), rides, e.model.Version); err != nil {
			t.Fatal(err)
		}
	}
	// The XSS dataset's log: half the rides carry a script or an attribute-breaking
	// img tag as store_and_fwd_flag.
	xss := all[len(taxiFaultDay)*faultRowsPerDay:]
	place(xss, faultDay(xssDay))
	for j := range xss {
		switch j % 4 {
		case 0:
			v := xssPayload
			xss[j].Trip.StoreAndFwdFlag = &v
		case 2:
			v := xssImgPayload
			xss[j].Trip.StoreAndFwdFlag = &v
		}
	}
	if err := batchtest.InsertRides(ctx, e.db.Collection(xssCollection), xss, e.model.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := batch.UploadTargets(ctx, e.db.Collection(mongodb.CollectionTarget), mongodb.FieldTargetDuration, batchtest.Targets(all), 1000, nil); err != nil {
		t.Fatal(err)
	}
	if err := batch.Register(xssTestDataset()); err != nil {
		t.Fatal(err)
	}

	e.ts = temporaltest.NewServer(temporaltest.WithT(t))
	e.c = e.ts.GetDefaultClient()
	return e
}

// xssTestDataset is the taxi with store_and_fwd_flag as a string categorical column,
// logged in its own collection.
func xssTestDataset() batch.Dataset {
	d := batch.Taxi()
	d.Name = xssDataset
	d.Title = "XSS test"
	d.Collection = xssCollection
	d.Report = report.TaxiConfig()
	d.Report.CategoricalFeatures = append(d.Report.CategoricalFeatures, "store_and_fwd_flag")
	d.LoadReference = func(ctx context.Context, path string, m *model.Model) (*report.Dataset, report.SegmentSource, error) {
		trips, err := taxi.ReadFile(ctx, path)
		if err != nil {
			return nil, nil, err
		}
		cfg := report.TaxiConfig()
		cfg.CategoricalFeatures = append(cfg.CategoricalFeatures, "store_and_fwd_flag")
		out := report.NewDataset(cfg)
		for i := range trips {
			tr := &trips[i]
			if !tr.KeepForTraining() {
				continue
			}
			dur, _ := tr.DurationMinutes()
			r := report.TaxiRow(tr, m.Predict(taxi.PUDO(*tr.PULocationID, *tr.DOLocationID), []float64{*tr.TripDistance}), &dur)
			if tr.StoreAndFwdFlag != nil {
				r.Cat["store_and_fwd_flag"] = *tr.StoreAndFwdFlag
			}
			out.Append(r)
		}
		return out, report.TaxiSegmentSource(trips), nil
	}
	return d
}

// faultInterceptor shortens the activities' timeouts (workflow side) and, for the
// tests, blocks an activity: in a child worker until it is killed (block, marker),
// in-process at the start of its first attempt until released (gate).
type faultInterceptor struct {
	interceptor.WorkerInterceptorBase
	block  string // activity to block in (child worker)
	marker string // file written once blocked
	gate   func(ctx context.Context, activityType string)
}

func (f *faultInterceptor) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &faultWorkflowIn{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

type faultWorkflowIn struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (i *faultWorkflowIn) Init(out interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&faultWorkflowOut{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: out}})
}

type faultWorkflowOut struct {
	interceptor.WorkflowOutboundInterceptorBase
}

func (o *faultWorkflowOut) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	opts := workflow.GetActivityOptions(ctx)
	if opts.HeartbeatTimeout > 0 {
		opts.HeartbeatTimeout = faultHeartbeat
	} else {
		opts.StartToCloseTimeout = faultStartToClose
	}
	return o.Next.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), activityType, args...)
}

func (f *faultInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &faultActivityIn{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, f: f}
}

type faultActivityIn struct {
	interceptor.ActivityInboundInterceptorBase
	f *faultInterceptor
}

func (i *faultActivityIn) Init(out interceptor.ActivityOutboundInterceptor) error {
	return i.Next.Init(&faultActivityOut{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: out}, f: i.f})
}

// blockForever records that the worker is blocked in name and never returns.
func (f *faultInterceptor) blockForever(name string) {
	_ = os.WriteFile(f.marker, []byte(name), 0o644)
	select {}
}

func (i *faultActivityIn) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	info := activity.GetInfo(ctx)
	name := info.ActivityType.Name
	if i.f.gate != nil && info.Attempt == 1 {
		i.f.gate(ctx, name)
	}
	res, err := i.Next.ExecuteActivity(ctx, in)
	// SaveHTMLReport and InsertResults do not heartbeat: block after their side effect
	// (file written, document upserted) and before the completion reaches Temporal,
	// so that the retry repeats it.
	if i.f.block == name && err == nil && (name == "SaveHTMLReport" || name == "InsertResults") {
		i.f.blockForever(name)
	}
	return res, err
}

type faultActivityOut struct {
	interceptor.ActivityOutboundInterceptorBase
	f *faultInterceptor
}

// RecordHeartbeat blocks the heartbeating activities at their first heartbeat: after
// some of their work (a staged chunk, the staging read back) and before the end.
func (o *faultActivityOut) RecordHeartbeat(ctx context.Context, details ...any) {
	if name := o.GetInfo(ctx).ActivityType.Name; o.f.block == name {
		o.f.blockForever(name)
	}
	o.Next.RecordHeartbeat(ctx, details...)
}

// faultWorker runs a real worker configured from the environment that blocks in
// BATCH_E2E_BLOCK_AT until killed.
func faultWorker() int {
	ctx := context.Background()
	cfg, err := batch.ConfigFromGetenv(os.Getenv)
	if err != nil {
		panic(err)
	}
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "fault worker:", err)
		return 1
	}
	c, err := client.DialContext(ctx, client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.Namespace})
	if err != nil {
		return fail(err)
	}
	m, err := model.Load(cfg.ModelPath)
	if err != nil {
		return fail(err)
	}
	mc, err := mongodb.Open(ctx, cfg.MongoURI)
	if err != nil {
		return fail(err)
	}
	a := &activities.Activities{DB: mc.Database(mongodb.Database), Model: m, ReportsDir: cfg.ReportsDir, DataDir: cfg.DataDir, ChunkRows: faultChunkRows}
	_, err = batchworker.Start(ctx, c, cfg, batchworker.Options{
		Activities:  a,
		SkipIndexes: true,
		Worker: worker.Options{Interceptors: []interceptor.WorkerInterceptor{&faultInterceptor{
			block: os.Getenv("BATCH_E2E_BLOCK_AT"), marker: os.Getenv("BATCH_E2E_BLOCKED_FILE"),
		}}},
	})
	if err != nil {
		return fail(err)
	}
	select {} // until killed
}

// startFaultWorker starts an in-process worker on queue with the short timeouts.
func (e *faultEnv) startFaultWorker(t *testing.T, queue string, gate func(context.Context, string)) *batchworker.Worker {
	t.Helper()
	w, err := batchworker.Start(context.Background(), e.c, batch.Config{TaskQueue: queue}, batchworker.Options{
		Activities:  e.activities(faultChunkRows),
		SkipIndexes: true,
		Worker:      worker.Options{Interceptors: []interceptor.WorkerInterceptor{&faultInterceptor{gate: gate}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func taxiInput(w batch.Window) workflows.Input {
	return workflows.Input{Dataset: "taxi", WindowStart: w.Start.Format(time.RFC3339), WindowEnd: w.End.Format(time.RFC3339)}
}

// TestBatchMonitoringFaults: Temporal and database faults on one shared Temporal
// server and FerretDB; every case ends with exactly one report per window.
func TestBatchMonitoringFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	t0 := time.Now()
	e := setupFaults(t)
	t.Logf("setup: %s", time.Since(t0).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()

	t.Run("WorkerKilledInActivity", func(t *testing.T) {
		for _, name := range activityNames {
			t.Run(name, func(t *testing.T) { e.killInActivity(t, ctx, name) })
		}
	})
	t.Run("DatabaseDown", func(t *testing.T) {
		for _, name := range []string{"FetchPredictions", "ComputeMetrics"} {
			t.Run(name, func(t *testing.T) { e.databaseDown(t, ctx, name) })
		}
	})
	t.Run("CorruptReference", func(t *testing.T) { e.corruptReference(t, ctx) })
	t.Run("OverlappingTriggers", func(t *testing.T) { e.overlapping(t, ctx) })
	t.Run("XSSThroughThePipeline", func(t *testing.T) { e.xss(t, ctx) })
}

// killInActivity runs a window on a child worker that blocks in the middle of name,
// SIGKILLs it and lets an in-process worker finish the run.
func (e *faultEnv) killInActivity(t *testing.T, ctx context.Context, name string) {
	t0 := time.Now()
	if name == "ScoreReference" {
		// Earlier runs cached the scored reference: empty the cache so that this run
		// scores and stages it (the kill lands after its first chunk).
		if err := e.db.Collection(mongodb.CollectionReferenceCache).Drop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	w := faultDay(killDays[name])
	queue := "faults-kill-" + name
	marker := filepath.Join(t.TempDir(), "blocked")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"BATCH_E2E_FAULT_WORKER=1",
		"BATCH_E2E_BLOCK_AT="+name,
		"BATCH_E2E_BLOCKED_FILE="+marker,
		"TEMPORAL_ADDRESS="+e.ts.GetFrontendHostPort(),
		"TEMPORAL_NAMESPACE="+e.ts.GetDefaultNamespace(),
		"TASK_QUEUE="+queue,
		"MONGODB_ADDRESS="+e.mongoURI,
		"MODEL_PATH="+batchtest.ModelPath(),
		"REPORTS_DIR="+e.reportsDir,
		"DATA_DIR="+e.dataDir,
	)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	kill := func() {
		if !killed {
			killed = true
			_ = cmd.Process.Kill() // SIGKILL: no graceful stop
			_ = cmd.Wait()
		}
	}
	defer kill()
	wfID := batch.WorkflowID("taxi", w)
	run, err := e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wfID, TaskQueue: queue}, workflows.WorkflowType, taxiInput(w))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if b, err := os.ReadFile(marker); err == nil && string(b) == name {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child worker never blocked in %s", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
	kill()
	killedAt := time.Now()
	t.Logf("killed the worker in %s after %s", name, killedAt.Sub(t0).Round(time.Millisecond))

	nw := e.startFaultWorker(t, queue, nil)
	defer nw.Stop(ctx)
	gctx, gcancel := context.WithTimeout(ctx, 3*time.Minute)
	defer gcancel()
	var res workflows.Result
	if err := run.Get(gctx, &res); err != nil {
		t.Fatal(err)
	}
	t.Logf("run completed %s after the kill", time.Since(killedAt).Round(time.Millisecond))
	if res.Status != batch.StatusCompleted || res.Rows.Current != faultRowsPerDay || res.Rows.TargetsMatched != faultRowsPerDay {
		t.Fatalf("result %+v", res)
	}
	hist := e.history(t, ctx, wfID, run.GetRunID())
	if got := activityAttempts(hist)[name]; got < 2 {
		t.Errorf("%s completed at attempt %d, want a retry after the kill", name, got)
	}
	doc := e.onlyReport(t, ctx, batch.ReportID("taxi", w))
	if doc.RunID != run.GetRunID() {
		t.Errorf("document of run %s, want %s", doc.RunID, run.GetRunID())
	}
	e.checkOneHTML(t, "taxi", w)
	e.checkRunStagingEmpty(t, ctx, wfID+"/"+run.GetRunID())
}

// activityAttempts maps each activity type to the attempt that closed it.
func activityAttempts(h *historypb.History) map[string]int {
	scheduled := map[int64]string{}
	out := map[string]int{}
	for _, ev := range h.Events {
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled[ev.EventId] = a.ActivityType.GetName()
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			out[scheduled[a.ScheduledEventId]] = int(a.Attempt)
		}
	}
	return out
}

// databaseDown stops FerretDB when name starts, lets the activity run against the
// stopped database, starts FerretDB again on the same directory and port a few
// seconds later: the activity is retried with backoff and the run completes.
func (e *faultEnv) databaseDown(t *testing.T, ctx context.Context, name string) {
	w := faultDay(dbDownDays[name])
	queue := "faults-dbdown-" + name
	reached := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	gate := func(actx context.Context, typ string) {
		if typ != name {
			return
		}
		first := false
		once.Do(func() { first = true })
		if !first {
			return
		}
		close(reached)
		select {
		case <-release:
		case <-actx.Done():
		}
	}
	wk := e.startFaultWorker(t, queue, gate)
	defer wk.Stop(ctx)
	wfID := batch.WorkflowID("taxi", w)
	run, err := e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wfID, TaskQueue: queue}, workflows.WorkflowType, taxiInput(w))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
	case <-time.After(2 * time.Minute):
		close(release)
		t.Fatalf("%s never started", name)
	}
	e.mu.Lock()
	addr := e.ferret.Addr
	stopped := make(chan struct{})
	go func() { e.ferret.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		e.mu.Unlock()
		close(release)
		t.Fatal("FerretDB did not stop")
	}
	e.ferret = nil
	e.mu.Unlock()
	downAt := time.Now()
	t.Logf("FerretDB stopped while %s runs", name)
	close(release)
	time.Sleep(5 * time.Second)
	var srv *mongotest.Server
	for i := 0; ; i++ { // the port may linger a moment
		srv, err = mongotest.Start(ctx, mongotest.Options{Dir: e.ferretDir, Addr: addr})
		if err == nil || i == 20 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	e.ferret = srv
	e.mu.Unlock()
	t.Logf("FerretDB restarted on %s after %s", addr, time.Since(downAt).Round(time.Millisecond))

	gctx, gcancel := context.WithTimeout(ctx, 3*time.Minute)
	defer gcancel()
	var res workflows.Result
	if err := run.Get(gctx, &res); err != nil {
		t.Fatal(err)
	}
	t.Logf("run completed %s after the database went down", time.Since(downAt).Round(time.Millisecond))
	if res.Status != batch.StatusCompleted || res.Rows.Current != faultRowsPerDay || res.Rows.TargetsMatched != faultRowsPerDay {
		t.Fatalf("result %+v", res)
	}
	hist := e.history(t, ctx, wfID, run.GetRunID())
	att := activityAttempts(hist)
	t.Logf("attempts: %v", att)
	if att[name] < 2 {
		t.Errorf("%s completed at attempt %d, want a retry after the database outage", name, att[name])
	}
	e.onlyReport(t, ctx, batch.ReportID("taxi", w))
	e.checkOneHTML(t, "taxi", w)
	e.checkRunStagingEmpty(t, ctx, wfID+"/"+run.GetRunID())
}

// corruptReference passes a garbage .parquet as the reference: the run fails at once
// with a non-retryable BadInput naming the file, and records a failed result.
func (e *faultEnv) corruptReference(t *testing.T, ctx context.Context) {
	w := faultDay(corruptDay)
	queue := "faults-corrupt"
	bad := filepath.Join(e.dataDir, "corrupt_reference.parquet")
	garbage := []byte("PAR1 this is not a parquet file at all \x00\x01\x02\xff\xfe garbage garbage garbage")
	if err := os.WriteFile(bad, garbage, 0o644); err != nil {
		t.Fatal(err)
	}
	wk := e.startFaultWorker(t, queue, nil)
	defer wk.Stop(ctx)
	in := taxiInput(w)
	in.Reference = "corrupt_reference.parquet"
	wfID := batch.WorkflowID("taxi", w)
	gctx, gcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer gcancel()
	run, err := e.c.ExecuteWorkflow(gctx, client.StartWorkflowOptions{ID: wfID, TaskQueue: queue}, workflows.WorkflowType, in)
	if err != nil {
		t.Fatal(err)
	}
	err = run.Get(gctx, nil)
	if err == nil {
		t.Fatal("the run with a corrupt reference succeeded")
	}
	t.Logf("run failed: %v", err)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("failure %T is no ApplicationError: %v", err, err)
	}
	if !appErr.NonRetryable() || appErr.Type() != batchapi.ErrBadInput {
		t.Errorf("application error: type %q, non-retryable %v", appErr.Type(), appErr.NonRetryable())
	}
	msg := strings.ToLower(appErr.Error())
	if !strings.Contains(appErr.Error(), bad) {
		t.Errorf("message does not name the file %s: %s", bad, appErr.Error())
	}
	// The message is the parquet reader's: `invalid magic footer of parquet file`.
	if !strings.Contains(msg, "parquet") || !(strings.Contains(msg, "invalid") || strings.Contains(msg, "not valid")) {
		t.Errorf("message does not say the file is not valid parquet: %s", appErr.Error())
	}
	var actErr *temporal.ActivityError
	if !errors.As(err, &actErr) || actErr.ActivityType().GetName() != "ScoreReference" {
		t.Errorf("failure not from ScoreReference: %v", err)
	}
	hist := e.history(t, ctx, wfID, run.GetRunID())
	if got := activityAttempts(hist)["ScoreReference"]; got != 1 {
		t.Errorf("ScoreReference ran %d attempts, want 1", got)
	}
	// The design (workflows/doc.go): a failed run of a ledger window (this one: the
	// day after the previous cases' windows, or the dataset's first) records status
	// "skipped" with the reason unless the window already has a completed result,
	// and deletes its staging.
	id := batch.ReportID("taxi", w)
	n, err := batchtest.Count(ctx, e.db.Collection(mongodb.CollectionReport), bson.D{{Key: "_id", Value: id}})
	if err != nil || n != 1 {
		t.Fatalf("%d result documents %s (%v), want 1", n, id, err)
	}
	doc, _, err := batch.NewResults(e.db).Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Status != batch.StatusSkipped || doc.WindowKind != batch.KindLedger || !strings.Contains(doc.Error, bad) || doc.RunID != run.GetRunID() {
		t.Errorf("result document: status %q (%s window), run %s, error %q", doc.Status, doc.WindowKind, doc.RunID, doc.Error)
	}
	if _, err := os.Stat(filepath.Join(e.reportsDir, "taxi", batch.HTMLFileName("taxi", w))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("HTML report of a failed run: %v", err)
	}
	e.checkRunStagingEmpty(t, ctx, wfID+"/"+run.GetRunID())
}

// overlapping starts one window several times at once: twice with its deterministic
// workflow id and USE_EXISTING (one execution), and once under another id (as a
// schedule's run next to a manual one).
func (e *faultEnv) overlapping(t *testing.T, ctx context.Context) {
	w := faultDay(overlapDay)
	queue := "faults-overlap"
	wk := e.startFaultWorker(t, queue, nil)
	defer wk.Stop(ctx)
	gctx, gcancel := context.WithTimeout(ctx, 3*time.Minute)
	defer gcancel()
	ids := []string{batch.WorkflowID("taxi", w), batch.WorkflowID("taxi", w), "batch-monitoring-taxi-overlap-other"}
	runs := make([]client.WorkflowRun, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i], errs[i] = e.c.ExecuteWorkflow(gctx, client.StartWorkflowOptions{
				ID: id, TaskQueue: queue,
				WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
				WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			}, workflows.WorkflowType, taxiInput(w))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
	}
	if runs[0].GetRunID() != runs[1].GetRunID() {
		t.Errorf("same workflow id, two executions: %s and %s", runs[0].GetRunID(), runs[1].GetRunID())
	}
	runIDs := map[string]bool{}
	for i, r := range runs {
		var res workflows.Result
		if err := r.Get(gctx, &res); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if res.Status != batch.StatusCompleted || res.ReportID != batch.ReportID("taxi", w) || res.Rows.Current != faultRowsPerDay {
			t.Errorf("run %d: %+v", i, res)
		}
		runIDs[r.GetRunID()] = true
	}
	if len(runIDs) != 2 {
		t.Errorf("%d executions, want 2", len(runIDs))
	}
	doc := e.onlyReport(t, ctx, batch.ReportID("taxi", w))
	if !runIDs[doc.RunID] {
		t.Errorf("document of an unknown run %s", doc.RunID)
	}
	n, err := batchtest.Count(ctx, e.db.Collection(mongodb.CollectionReport), bson.D{{Key: "dataset", Value: "taxi"}, {Key: "window_start", Value: w.Start}})
	if err != nil || n != 1 {
		t.Errorf("%d result documents of the window (%v), want 1", n, err)
	}
	e.checkOneHTML(t, "taxi", w)
	for _, r := range runs {
		e.checkRunStagingEmpty(t, ctx, r.GetID()+"/"+r.GetRunID())
	}
}

// xss logs predictions whose store_and_fwd_flag (a string categorical column of the
// registered test dataset) is a script, runs the window and checks that the HTML
// report carries it only escaped.
func (e *faultEnv) xss(t *testing.T, ctx context.Context) {
	w := faultDay(xssDay)
	queue := "faults-xss"
	wk := e.startFaultWorker(t, queue, nil)
	defer wk.Stop(ctx)
	gctx, gcancel := context.WithTimeout(ctx, 3*time.Minute)
	defer gcancel()
	in := workflows.Input{Dataset: xssDataset, WindowStart: w.Start.Format(time.RFC3339), WindowEnd: w.End.Format(time.RFC3339)}
	run, err := e.c.ExecuteWorkflow(gctx, client.StartWorkflowOptions{ID: batch.WorkflowID(xssDataset, w), TaskQueue: queue}, workflows.WorkflowType, in)
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.Result
	if err := run.Get(gctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Status != batch.StatusCompleted || res.Rows.Current != faultRowsPerDay {
		t.Fatalf("result %+v", res)
	}
	doc := e.onlyReport(t, ctx, batch.ReportID(xssDataset, w))
	rep, err := doc.ReportJSON()
	if err != nil {
		t.Fatal(err)
	}
	// The value reached the report (JSON may escape < and >).
	if !strings.Contains(string(rep), "alert(1)") {
		t.Fatalf("the script value is not in the report: %.300s", rep)
	}
	e.checkOneHTML(t, xssDataset, w)
	b, err := os.ReadFile(res.HTMLPath)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	if strings.Contains(strings.ToLower(html), "<script>alert") {
		i := strings.Index(strings.ToLower(html), "<script>alert")
		t.Errorf("unescaped script in the HTML report: %q", html[max(0, i-200):min(len(html), i+100)])
	}
	if i := strings.Index(html, "alert(1)"); i < 0 {
		t.Errorf("the script value is not in the HTML report at all (escaped or not)")
	} else {
		t.Logf("in the HTML report as %q", html[max(0, i-30):min(len(html), i+40)])
	}
	// The report page has no script or image of its own: any raw <script or <img is
	// injected. (Escaped, "onerror=alert(2)" is harmless text: its < and " are entities.)
	for _, tag := range []string{"<script", "<img", `"><img`} {
		if i := strings.Index(strings.ToLower(html), tag); i >= 0 {
			t.Errorf("unescaped %s in the HTML report: %q", tag, html[max(0, i-100):min(len(html), i+100)])
		}
	}
	e.checkRunStagingEmpty(t, ctx, run.GetID()+"/"+run.GetRunID())
}

// checkOneHTML checks that the dataset's reports directory holds the window's HTML
// file exactly once and no temporary file.
func (e *faultEnv) checkOneHTML(t *testing.T, dataset string, w batch.Window) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(e.reportsDir, dataset))
	if err != nil {
		t.Fatal(err)
	}
	want := batch.HTMLFileName(dataset, w)
	n := 0
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), ".") {
			t.Errorf("temporary file left: %s", en.Name())
		}
		if strings.Contains(en.Name(), strings.TrimSuffix(want, ".html")) {
			n++
			b, err := os.ReadFile(filepath.Join(e.reportsDir, dataset, en.Name()))
			if err != nil || !strings.Contains(string(b), "<html") {
				t.Errorf("%s: %d bytes, %v", en.Name(), len(b), err)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d HTML files of %s, want 1", n, want)
	}
}

// checkRunStagingEmpty checks that no staging chunk of the run ("<workflow id>/<run
// id>") is left.
func (e *faultEnv) checkRunStagingEmpty(t *testing.T, ctx context.Context, run string) {
	t.Helper()
	n, err := batchtest.Count(ctx, e.db.Collection(mongodb.CollectionStaging), bson.D{{Key: "run", Value: run}})
	if err != nil || n != 0 {
		t.Errorf("%d staging chunks of %s left (%v)", n, run, err)
	}
}

package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/modelmon/modelmon/activities"
	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/batch/batchtest"
	"github.com/modelmon/modelmon/internal/estimate"
	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/starter/batchsched"
	"github.com/modelmon/modelmon/worker/batchworker"
	"github.com/modelmon/modelmon/workflows"
)

var update = flag.Bool("update", false, "rewrite testdata/batch/batch_monitoring_history.json from the end-to-end run")

// HistoryFile is the saved history that workflows' replay test replays.
const historyFile = "batch_monitoring_history.json"

// maxPayload is the bound on any payload in the workflow history.
const maxPayload = 10 << 10

func TestMain(m *testing.M) {
	if os.Getenv("BATCH_E2E_HELPER_WORKER") == "1" {
		os.Exit(helperWorker())
	}
	os.Exit(m.Run())
}

var (
	day1 = batch.Window{Start: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2022, 1, 2, 0, 0, 0, 0, time.UTC)}
	day2 = batch.Window{Start: time.Date(2022, 1, 2, 0, 0, 0, 0, time.UTC), End: time.Date(2022, 1, 3, 0, 0, 0, 0, time.UTC)}
)

type env struct {
	ts         *temporaltest.TestServer
	c          client.Client
	mongoURI   string
	db         *mongo.Database
	model      *model.Model
	dataDir    string
	reportsDir string
	estimator  *estimate.Estimator // the workers' ESTIMATOR_PATH; nil: none
}

func (e *env) activities(chunkRows int) *activities.Activities {
	return &activities.Activities{DB: e.db, Model: e.model, Estimator: e.estimator, ReportsDir: e.reportsDir, DataDir: e.dataDir, ChunkRows: chunkRows}
}

// startWorker runs a worker of the batch in-process on taskQueue, as a dev stack would.
func (e *env) startWorker(t *testing.T, taskQueue string, chunkRows int) *batchworker.Worker {
	t.Helper()
	cfg := batch.Config{TaskQueue: taskQueue}
	w, err := batchworker.Start(context.Background(), e.c, cfg, batchworker.Options{Activities: e.activities(chunkRows)})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{}
	e.mongoURI, e.db = batchtest.Mongo(t)
	e.model = batchtest.LoadModel(t)
	e.dataDir = t.TempDir()
	e.reportsDir = filepath.Join(t.TempDir(), "reports")
	// DATA_DIR looks like a deployment's: data/ with the TLC files, target CSVs.
	batchtest.CopyData(t, e.dataDir)
	path := batchtest.DataPath("green_tripdata_2022-01.parquet")
	r1, err := batchtest.Rides(ctx, path, e.model, "ride", 0, 3000, day1)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := batchtest.Rides(ctx, path, e.model, "ride", 3000, 3000, day2)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	recent, err := batchtest.Rides(ctx, path, e.model, "ride", 6000, 300, batch.Window{Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	data := e.db.Collection(mongodb.CollectionData)
	for _, rides := range [][]batchtest.Ride{r1, r2, recent} {
		if err := batchtest.InsertRides(ctx, data, rides, e.model.Version); err != nil {
			t.Fatal(err)
		}
	}
	// Day 1's targets come from a CSV (as send_data.py writes it), day 2's and the
	// recent ones from the target collection.
	if err := batchtest.WriteTargetsCSV(filepath.Join(e.dataDir, "target.csv"), batchtest.Targets(r1), false); err != nil {
		t.Fatal(err)
	}
	if _, err := batch.UploadTargets(ctx, e.db.Collection(mongodb.CollectionTarget), mongodb.FieldTargetDuration,
		append(batchtest.Targets(r2), batchtest.Targets(recent)...), 1000, nil); err != nil {
		t.Fatal(err)
	}

	e.ts = temporaltest.NewServer(temporaltest.WithT(t))
	e.c = e.ts.GetDefaultClient()
	return e
}

// TestBatchMonitoringEndToEnd runs the batch on real rides through a real Temporal
// server and FerretDB: a manual run started by type name with raw JSON (as the CLIs
// do), a re-run of the same window, a worker killed in the middle of an activity and
// replaced, and a schedule that fires and is triggered.
func TestBatchMonitoringEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	w := e.startWorker(t, workflows.TaskQueue, 1000)
	defer w.Stop(ctx)
	reportID1 := batch.ReportID("taxi", day1)
	wfID1 := batch.WorkflowID("taxi", day1)
	var first workflows.Result

	t.Run("ManualRunByTypeNameRawJSON", func(t *testing.T) {
		t0 := time.Now()
		raw := `{"dataset":"taxi","window_start":"2022-01-01T00:00:00Z","window_end":"2022-01-02T00:00:00Z","reference":"data/green_tripdata_2021-01.parquet","targets":"target.csv"}`
		// Exactly what `temporal workflow start --type BatchMonitoring --input '...'` sends.
		resp, err := e.c.WorkflowService().StartWorkflowExecution(ctx, &workflowservice.StartWorkflowExecutionRequest{
			Namespace:    e.ts.GetDefaultNamespace(),
			WorkflowId:   wfID1,
			WorkflowType: &commonpb.WorkflowType{Name: "BatchMonitoring"},
			TaskQueue:    &taskqueuepb.TaskQueue{Name: "batch-monitoring", Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
			Input: &commonpb.Payloads{Payloads: []*commonpb.Payload{{
				Metadata: map[string][]byte{"encoding": []byte("json/plain")},
				Data:     []byte(raw),
			}}},
			RequestId: "e2e-manual-run",
		})
		if err != nil {
			t.Fatal(err)
		}
		var res workflows.Result
		if err := e.c.GetWorkflow(ctx, wfID1, resp.RunId).Get(ctx, &res); err != nil {
			t.Fatal(err)
		}
		t.Logf("manual run of 3,000 rides: %s, timings %v", time.Since(t0).Round(time.Millisecond), res.TimingsMS)
		if res.Status != batch.StatusCompleted || res.ReportID != reportID1 {
			t.Fatalf("result %+v", res)
		}
		if res.ReferenceCache != "miss" {
			t.Errorf("first run: reference cache %q, want miss", res.ReferenceCache)
		}
		first = res
		if res.Rows.Current != 3000 || res.Rows.TargetsMatched != 3000 || res.Rows.Reference == 0 {
			t.Errorf("rows %+v", res.Rows)
		}
		if res.Summary == nil || res.Summary.RMSE == nil || res.Summary.TargetRows != res.Rows.TargetsInDomain {
			t.Errorf("summary %+v", res.Summary)
		}
		doc := e.onlyReport(t, ctx, reportID1)
		if doc.RunID != resp.RunId || doc.WorkflowID != wfID1 || doc.HTMLPath != res.HTMLPath || doc.ModelVersion != e.model.Version {
			t.Errorf("document metadata %+v", doc)
		}
		for _, a := range []string{"FetchPredictions", "JoinTarget", "ScoreReference", "ComputeMetrics", "SaveHTMLReport"} {
			if _, ok := doc.TimingsMS[a]; !ok {
				t.Errorf("no timing of %s in %v", a, doc.TimingsMS)
			}
		}
		if !strings.HasPrefix(doc.Targets, "csv:") || doc.Rows.Current != 3000 {
			t.Errorf("targets %q rows %+v", doc.Targets, doc.Rows)
		}
		rep, err := doc.ReportJSON()
		if err != nil || !strings.Contains(string(rep), `"data_drift"`) {
			t.Errorf("report JSON %.200s: %v", rep, err)
		}
		e.checkHTML(t, []string{batch.HTMLFileName("taxi", day1)})
		e.checkStagingEmpty(t, ctx)
		hist := e.history(t, ctx, wfID1, resp.RunId)
		checkPayloads(t, hist)
		if *update {
			b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(batchtest.RepoRoot(), "testdata", "batch", historyFile)
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s (%d events)", out, len(hist.Events))
		}
	})

	t.Run("RerunSameWindowOneDocument", func(t *testing.T) {
		run, err := e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: wfID1, TaskQueue: workflows.TaskQueue,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		}, workflows.WorkflowType, workflows.Input{
			Dataset: "taxi", WindowStart: day1.Start.Format(time.RFC3339), WindowEnd: day1.End.Format(time.RFC3339), Targets: "target.csv",
		})
		if err != nil {
			t.Fatal(err)
		}
		var res workflows.Result
		if err := run.Get(ctx, &res); err != nil {
			t.Fatal(err)
		}
		// The re-run takes the scored reference from the cache that the first run
		// filled, and its numbers are the first run's.
		t.Logf("ScoreReference: first run %d ms (%s), re-run %d ms (%s)", first.TimingsMS["ScoreReference"], first.ReferenceCache,
			res.TimingsMS["ScoreReference"], res.ReferenceCache)
		if res.ReferenceCache != "hit" || res.Rows != first.Rows || !reflect.DeepEqual(res.Summary, first.Summary) {
			t.Errorf("re-run: cache %q rows %+v summary %+v; first run rows %+v summary %+v", res.ReferenceCache, res.Rows, res.Summary, first.Rows, first.Summary)
		}
		doc := e.onlyReport(t, ctx, reportID1)
		if doc.RunID != run.GetRunID() {
			t.Errorf("document of run %s, want the re-run %s", doc.RunID, run.GetRunID())
		}
		e.checkHTML(t, []string{batch.HTMLFileName("taxi", day1)})
		n, err := batchtest.Count(ctx, e.db.Collection(mongodb.CollectionReport), bson.D{})
		if err != nil || n != 1 {
			t.Errorf("%d result documents (%v), want 1", n, err)
		}
	})

	t.Run("WorkerKilledMidActivity", func(t *testing.T) {
		e.killedWorker(t, ctx)
	})

	t.Run("ScheduleFiresAndTrigger", func(t *testing.T) {
		e.schedule(t, ctx)
	})
}

// killedWorker runs day 2 on a worker in a child process, kills it (SIGKILL) while
// FetchPredictions is half way, and lets a new worker finish the run.
func (e *env) killedWorker(t *testing.T, ctx context.Context) {
	const queue = "batch-e2e-kill"
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"BATCH_E2E_HELPER_WORKER=1",
		"TEMPORAL_ADDRESS="+e.ts.GetFrontendHostPort(),
		"TEMPORAL_NAMESPACE="+e.ts.GetDefaultNamespace(),
		"TASK_QUEUE="+queue,
		"MONGODB_ADDRESS="+e.mongoURI,
		"MODEL_PATH="+batchtest.ModelPath(),
		"REPORTS_DIR="+e.reportsDir,
		"DATA_DIR="+e.dataDir,
		"BATCH_CHUNK_ROWS=200",
		// The SDK sends heartbeats at most every 0.8 x HeartbeatTimeout (8 s):
		// the fetch must last a few such intervals for progress to be seen.
		"BATCH_HEARTBEAT_DELAY=1500ms",
	)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	wfID := batch.WorkflowID("taxi", day2)
	run, err := e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wfID, TaskQueue: queue}, workflows.WorkflowType,
		workflows.Input{Dataset: "taxi", WindowStart: day2.Start.Format(time.RFC3339), WindowEnd: day2.End.Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the child has staged a few chunks of FetchPredictions.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if time.Now().After(deadline) {
			t.Fatal("FetchPredictions made no progress on the child worker")
		}
		d, err := e.c.DescribeWorkflowExecution(ctx, wfID, run.GetRunID())
		if err != nil {
			t.Fatal(err)
		}
		seq := 0
		for _, pa := range d.PendingActivities {
			if pa.ActivityType.GetName() == "FetchPredictions" && pa.HeartbeatDetails != nil {
				var p struct {
					Seq int `json:"seq"`
				}
				if err := converter.GetDefaultDataConverter().FromPayloads(pa.HeartbeatDetails, &p); err == nil {
					seq = p.Seq
				}
			}
		}
		if seq >= 3 {
			t.Logf("killing the worker at chunk %d of FetchPredictions", seq)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	killedAt := time.Now()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed = true

	w := e.startWorker(t, queue, 200)
	defer w.Stop(ctx)
	var res workflows.Result
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	t.Logf("run completed %s after the kill", time.Since(killedAt).Round(time.Millisecond))
	if res.Status != batch.StatusCompleted || res.Rows.Current != 3000 || res.Rows.TargetsMatched != 3000 {
		t.Fatalf("result %+v", res)
	}
	hist := e.history(t, ctx, wfID, run.GetRunID())
	checkPayloads(t, hist)
	// The fetch was retried once and resumed from its heartbeat.
	var fetch batchapi.FetchResult
	attempts := 0
	scheduled := map[int64]string{}
	for _, ev := range hist.Events {
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled[ev.EventId] = a.ActivityType.GetName()
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && scheduled[a.ScheduledEventId] == "FetchPredictions" {
			attempts = int(a.Attempt)
		}
		if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil && scheduled[a.ScheduledEventId] == "FetchPredictions" {
			if err := converter.GetDefaultDataConverter().FromPayloads(a.Result, &fetch); err != nil {
				t.Fatal(err)
			}
		}
	}
	if attempts != 2 || fetch.ResumedFromChunk < 3 {
		t.Errorf("FetchPredictions: attempt %d, resumed from chunk %d; want attempt 2 resumed from >= 3", attempts, fetch.ResumedFromChunk)
	}
	e.onlyReport(t, ctx, batch.ReportID("taxi", day2))
	e.checkHTML(t, []string{batch.HTMLFileName("taxi", day1), batch.HTMLFileName("taxi", day2)})
	e.checkStagingEmpty(t, ctx)
}

// schedule creates the dataset's schedule with a short interval, waits for a
// scheduled run, slows it down with an update, triggers a run and deletes it.
func (e *env) schedule(t *testing.T, ctx context.Context) {
	lastEnd, found, err := batch.NewResults(e.db).LastWindowEnd(ctx, "taxi")
	if err != nil || !found {
		t.Fatalf("no covered window before the schedule: %v", err)
	}
	_, err = batchsched.Create(ctx, e.c, batchsched.Spec{Dataset: "taxi", Every: 2 * time.Second, CatchupWindow: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.c.ScheduleClient().GetHandle(ctx, batch.ScheduleID("taxi")).Delete(ctx); err != nil {
			t.Error(err)
		}
	}()
	first := e.waitScheduledRun(t, ctx, 1)
	if !strings.HasPrefix(first.WorkflowID, "batch-monitoring-taxi-") {
		t.Errorf("scheduled workflow id %s", first.WorkflowID)
	}
	var res workflows.Result
	if err := e.c.GetWorkflow(ctx, first.WorkflowID, "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	// The first scheduled run covers the time since the last covered window (day 2),
	// with the recent rides.
	if res.Status != batch.StatusCompleted || !res.WindowStart.Equal(lastEnd) || res.Rows.Current < 300 || res.Rows.TargetsMatched != res.Rows.Current {
		t.Errorf("scheduled run: %+v", res)
	}
	every := time.Hour
	if err := batchsched.Update(ctx, e.c, "taxi", batchsched.Change{Every: &every}); err != nil {
		t.Fatal(err)
	}
	v, err := batchsched.Describe(ctx, e.c, "taxi")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Intervals) != 1 || v.Intervals[0] != "1h0m0s" || v.Overlap != "skip" || v.Input.Dataset != "taxi" {
		t.Errorf("after update: %+v", v)
	}
	before := v.Actions
	// Let a run that started before the update finish, then trigger.
	for _, r := range v.Running {
		_ = e.c.GetWorkflow(ctx, r, "").Get(ctx, nil)
	}
	if err := batchsched.Trigger(ctx, e.c, "taxi", enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE); err != nil {
		t.Fatal(err)
	}
	trig := e.waitScheduledRun(t, ctx, before+1)
	var tres workflows.Result
	if err := e.c.GetWorkflow(ctx, trig.WorkflowID, "").Get(ctx, &tres); err != nil {
		t.Fatal(err)
	}
	t.Logf("triggered run %s: %s, window %s .. %s", trig.WorkflowID, tres.Status, tres.WindowStart.Format(time.RFC3339), tres.WindowEnd.Format(time.RFC3339))
	if tres.Status == "" {
		t.Errorf("triggered run: %+v", tres)
	}
}

// waitScheduledRun waits until the schedule has taken n actions and returns the last.
func (e *env) waitScheduledRun(t *testing.T, ctx context.Context, n int) batchsched.Recent {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		v, err := batchsched.Describe(ctx, e.c, "taxi")
		if err != nil {
			t.Fatal(err)
		}
		if v.Actions >= n && len(v.Recent) > 0 && v.Recent[len(v.Recent)-1].WorkflowID != "" {
			return v.Recent[len(v.Recent)-1]
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("schedule took fewer than %d actions", n)
	return batchsched.Recent{}
}

// onlyReport checks that the window has exactly one result document and returns it.
func (e *env) onlyReport(t *testing.T, ctx context.Context, id string) *batch.ResultDoc {
	t.Helper()
	n, err := batchtest.Count(ctx, e.db.Collection(mongodb.CollectionReport), bson.D{{Key: "_id", Value: id}})
	if err != nil || n != 1 {
		t.Fatalf("%d result documents %s (%v), want 1", n, id, err)
	}
	doc, found, err := batch.NewResults(e.db).Get(ctx, id)
	if err != nil || !found {
		t.Fatalf("result %s: %v", id, err)
	}
	if doc.Status != batch.StatusCompleted || len(doc.Report) == 0 || doc.Summary == nil {
		t.Fatalf("result %s: status %s, report %d bytes", id, doc.Status, len(doc.Report))
	}
	return doc
}

// checkHTML checks that the reports directory holds exactly these files.
func (e *env) checkHTML(t *testing.T, want []string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(e.reportsDir, "taxi"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range entries {
		got = append(got, en.Name())
		b, err := os.ReadFile(filepath.Join(e.reportsDir, "taxi", en.Name()))
		if err != nil || !strings.Contains(string(b), "<html") {
			t.Errorf("%s: %d bytes, %v", en.Name(), len(b), err)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("report files %v, want %v", got, want)
	}
}

func (e *env) checkStagingEmpty(t *testing.T, ctx context.Context) {
	t.Helper()
	n, err := batchtest.Count(ctx, e.db.Collection(mongodb.CollectionStaging), bson.D{})
	if err != nil || n != 0 {
		t.Errorf("%d staging documents left (%v)", n, err)
	}
}

func (e *env) history(t *testing.T, ctx context.Context, id, runID string) *historypb.History {
	t.Helper()
	it := e.c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	return h
}

// checkPayloads asserts that no payload anywhere in the history (inputs, results,
// heartbeat details, failures) reaches maxPayload: no records travel through
// Temporal.
func checkPayloads(t *testing.T, h *historypb.History) {
	t.Helper()
	largest, total := 0, 0
	for _, ev := range h.Events {
		walkPayloads(ev.ProtoReflect(), func(p *commonpb.Payload) {
			n := len(p.GetData())
			total += n
			if n > largest {
				largest = n
			}
			if n >= maxPayload {
				t.Errorf("event %d (%s): payload of %d bytes >= %d: %.200s", ev.EventId, ev.EventType, n, maxPayload, p.GetData())
			}
		})
	}
	t.Logf("history: %d events, largest payload %d bytes, payloads %d bytes in all", len(h.Events), largest, total)
}

var payloadName = (&commonpb.Payload{}).ProtoReflect().Descriptor().FullName()

func walkPayloads(m protoreflect.Message, fn func(*commonpb.Payload)) {
	if m.Descriptor().FullName() == payloadName {
		if p, ok := m.Interface().(*commonpb.Payload); ok {
			fn(p)
		}
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walkPayloads(l.Get(i).Message(), fn)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				walkPayloads(mv.Message(), fn)
				return true
			})
		case fd.Message() != nil && !fd.IsList() && !fd.IsMap():
			walkPayloads(v.Message(), fn)
		}
		return true
	})
}

// helperWorker is the child process of WorkerKilledMidActivity: a real worker
// configured from the environment, slowed down at every heartbeat so that the test
// can kill it half way through an activity.
func helperWorker() int {
	ctx := context.Background()
	cfg, err := batch.ConfigFromGetenv(os.Getenv)
	if err != nil {
		panic(err)
	}
	c, err := client.DialContext(ctx, client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.Namespace})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper worker:", err)
		return 1
	}
	m, err := model.Load(cfg.ModelPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper worker:", err)
		return 1
	}
	mc, err := mongodb.Open(ctx, cfg.MongoURI)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper worker:", err)
		return 1
	}
	rows, _ := strconv.Atoi(os.Getenv("BATCH_CHUNK_ROWS"))
	delay, _ := time.ParseDuration(os.Getenv("BATCH_HEARTBEAT_DELAY"))
	a := &activities.Activities{DB: mc.Database(mongodb.Database), Model: m, ReportsDir: cfg.ReportsDir, DataDir: cfg.DataDir, ChunkRows: rows}
	_, err = batchworker.Start(ctx, c, cfg, batchworker.Options{
		Activities:  a,
		SkipIndexes: true,
		Worker:      worker.Options{Interceptors: []interceptor.WorkerInterceptor{&slowHeartbeats{delay: delay}}},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper worker:", err)
		return 1
	}
	select {} // until killed
}

package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/batch/batchmetrics"
	"github.com/modelmon/modelmon/internal/batch/batchtest"
	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/mongotest"
	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/spool"
	"github.com/modelmon/modelmon/internal/store"
	"github.com/modelmon/modelmon/internal/taxi"
	"github.com/modelmon/modelmon/worker/batchworker"
	"github.com/modelmon/modelmon/workflows"
)

const (
	ledgerDataset    = "ledgertest"
	ledgerCollection = "ledger_data"
	// poisonPrediction marks the record whose window's computation panics on every
	// attempt (as a numeric bug on an extreme value would).
	poisonPrediction = 4242.0
	// ledgerLateness is the runs' allowed lateness: above the logger's write
	// timeout (1 s) on one host's clock.
	ledgerLateness = 3 * time.Second
)

// ledgerTestDataset is the taxi on its own collection with a small reference and no
// segments (fast runs).
func ledgerTestDataset() batch.Dataset {
	d := batch.Taxi()
	d.Name, d.Title, d.Collection, d.Segments = ledgerDataset, "window ledger test", ledgerCollection, nil
	d.LoadReference = func(ctx context.Context, path string, m *model.Model) (*report.Dataset, report.SegmentSource, error) {
		trips, err := taxi.ReadFile(ctx, path)
		if err != nil {
			return nil, nil, err
		}
		trips = trips[:min(len(trips), 4000)]
		return report.TaxiDataset(trips, m), nil, nil
	}
	return d
}

// TestWindowLedgerExactlyOnce is the invariant of the window ledger on the real
// components: a real store.Logger with a spool writes rides to FerretDB while two
// loops start open-start BatchMonitoring runs on a real Temporal server (a schedule
// and a manual `starter run`, side by side); the database goes down and its spooled
// backlog is drained after the restart, and rides received at the start are written
// late, one by one, across several windows; one record makes its window's
// computation panic on every attempt. Afterwards every stored record is in exactly
// one ledger window: the windows are contiguous and disjoint, each window's
// rows.current is the number of records stored in it (late rows included and
// counted as late), the ids the runs staged (read before InsertResults deletes the
// staging) cover every stored id exactly once, the sum over completed windows plus
// the skipped window is the number of stored records, and the window after the
// skipped one completed.
func TestWindowLedgerExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	ferretDir := t.TempDir()
	srv, err := mongotest.Start(ctx, mongotest.Options{Dir: ferretDir, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	var srvMu sync.Mutex
	defer func() { srvMu.Lock(); srv.Stop(); srvMu.Unlock() }()
	mc, err := mongo.Connect(options.Client().ApplyURI(srv.URI).SetServerSelectionTimeout(2 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Disconnect(context.Background())
	db := mc.Database(mongodb.Database)
	m := batchtest.LoadModel(t)
	dataDir := t.TempDir()
	batchtest.CopyData(t, dataDir)
	if err := batch.Register(ledgerTestDataset()); err != nil {
		t.Fatal(err)
	}
	rides, err := batchtest.Rides(ctx, batchtest.DataPath("green_tripdata_2022-01.parquet"), m, "lw", 0, 3000, faultDay(1))
	if err != nil {
		t.Fatal(err)
	}

	ts := temporaltest.NewServer(temporaltest.WithT(t))
	c := ts.GetDefaultClient()
	const queue = "ledger-e2e"
	var poisonAttempts atomic.Int32
	a := (&env{db: db, model: m, dataDir: dataDir, reportsDir: filepath.Join(t.TempDir(), "reports")}).activities(1000)
	a.Compute = func(ctx context.Context, ref, cur *report.Dataset, cfg report.Config) (*report.Report, error) {
		if slices.Contains(cur.Prediction, poisonPrediction) {
			poisonAttempts.Add(1)
			panic("poison record in the window")
		}
		return report.Compute(ctx, ref, cur, cfg)
	}
	staged := &stagedIDs{db: db, byWindow: map[string][]string{}}
	w, err := batchworker.Start(ctx, c, batch.Config{TaskQueue: queue}, batchworker.Options{Activities: a, SkipIndexes: true,
		Worker: worker.Options{Interceptors: []interceptor.WorkerInterceptor{staged}}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop(context.Background())

	// The online service's prediction log.
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sp, err := spool.Open(spool.Options{Dir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	plog := store.NewLogger(db.Collection(ledgerCollection), store.LoggerOptions{
		Spool: sp, Logger: quiet, WriteTimeout: time.Second, DrainInterval: 100 * time.Millisecond, BatchSize: 16,
	})
	logRide := func(r batchtest.Ride, received time.Time, prediction float64) error {
		r.Prediction = prediction
		d := r.Doc(m.Version)
		d[len(d)-1] = bson.E{Key: mongodb.FieldReceivedAt, Value: received.UTC()}
		return plog.Log(ctx, d)
	}

	// Two loops of open-start runs: "sched" (one at a time, as a schedule with the
	// SKIP overlap policy) and "manual" (as `starter run`, at its own pace).
	stopRuns := make(chan struct{})
	var runsWG sync.WaitGroup
	var runsMu sync.Mutex
	var results []workflows.Result
	var runErrs []error
	startLoop := func(name string, every time.Duration) {
		runsWG.Add(1)
		go func() {
			defer runsWG.Done()
			for i := 0; ; i++ {
				select {
				case <-stopRuns:
					return
				case <-time.After(every):
				}
				run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("%s-%d", name, i), TaskQueue: queue},
					workflows.WorkflowType, workflows.Input{Dataset: ledgerDataset, AllowedLateness: ledgerLateness.String()})
				if err != nil {
					t.Error(err)
					return
				}
				var res workflows.Result
				err = run.Get(ctx, &res)
				runsMu.Lock()
				if err != nil {
					runErrs = append(runErrs, err)
				} else {
					results = append(results, res)
				}
				runsMu.Unlock()
			}
		}()
	}
	startLoop("sched", 1500*time.Millisecond)
	startLoop("manual", 2100*time.Millisecond)

	t0 := time.Now()
	next := 0
	logLive := func(n int, prediction float64) {
		for range n {
			if err := logRide(rides[next], time.Now(), prediction); err != nil {
				t.Fatalf("log ride %d: %v", next, err)
			}
			next++
			time.Sleep(40 * time.Millisecond)
		}
	}
	// Phase 1: live traffic with the database up. The first 40 rides are held back:
	// they are "received" now and written late, below.
	lateRides, lateReceived := rides[:40], time.Now()
	next = 40
	logLive(100, 0)
	// Phase 2: the database is down; the log spools what it acknowledges.
	srvMu.Lock()
	addr := srv.Addr
	srv.Stop()
	srvMu.Unlock()
	downAt := time.Now()
	logLive(100, 0)
	spooled := plog.Stats().Spooled
	time.Sleep(3 * time.Second) // open runs wait for the database (ClaimWindow retries)
	srvMu.Lock()
	for i := 0; ; i++ {
		if srv, err = mongotest.Start(ctx, mongotest.Options{Dir: ferretDir, Addr: addr}); err == nil || i == 20 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	srvMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("database down %s, %d records spooled", time.Since(downAt).Round(time.Millisecond), spooled)
	// Phase 3: live traffic again, one poison record, and the held-back rides written
	// late, 4 every 0.8 s: across several windows.
	var lateWG sync.WaitGroup
	lateWG.Add(1)
	go func() {
		defer lateWG.Done()
		for i, r := range lateRides {
			if err := logRide(r, lateReceived, 0); err != nil {
				t.Errorf("late ride %d: %v", i, err)
			}
			if i%4 == 3 {
				time.Sleep(800 * time.Millisecond)
			}
		}
	}()
	logLive(50, 0)
	logLive(1, poisonPrediction)
	logLive(100, 0)
	lateWG.Wait()
	cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
	if err := plog.Close(cctx); err != nil {
		t.Fatal(err)
	}
	ccancel()
	st := plog.Stats()
	t.Logf("traffic done after %s: %d records logged, %d spooled, %d drained", time.Since(t0).Round(time.Millisecond), next, st.Spooled, st.Drained)
	// Let the loops close the windows behind the watermark, then a last run.
	time.Sleep(ledgerLateness + 4*time.Second)
	close(stopRuns)
	runsWG.Wait()
	final, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "final", TaskQueue: queue}, workflows.WorkflowType,
		workflows.Input{Dataset: ledgerDataset, AllowedLateness: ledgerLateness.String()})
	if err != nil {
		t.Fatal(err)
	}
	var fres workflows.Result
	if err := final.Get(ctx, &fres); err != nil {
		t.Fatal(err)
	}
	t.Logf("final run: %s %s .. %s", fres.Status, fres.WindowStart.Format(time.RFC3339Nano), fres.WindowEnd.Format(time.RFC3339Nano))
	if spooled == 0 || st.Drained == 0 {
		t.Errorf("the outage spooled %d and drained %d records: no spool drain tested", spooled, st.Drained)
	}

	// What was stored, by the stored time of each record.
	type rec struct {
		id               string
		stored, received time.Time
	}
	cur, err := db.Collection(ledgerCollection).Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var stored []rec
	for cur.Next(ctx) {
		s, ok := cur.Current.Lookup(mongodb.FieldStoredAt).TimeOK()
		if !ok {
			t.Fatalf("%s has no stored_at", cur.Current.Lookup("_id"))
		}
		stored = append(stored, rec{cur.Current.Lookup("_id").StringValue(), s.UTC(), cur.Current.Lookup(mongodb.FieldReceivedAt).Time().UTC()})
	}
	if err := cur.Err(); err != nil {
		t.Fatal(err)
	}
	if len(stored) != next { // rides[0:40] late, rides[40:next] live
		t.Errorf("%d records stored, %d logged", len(stored), next)
	}

	claims, err := batch.NewLedger(db).All(ctx, ledgerDataset)
	if err != nil {
		t.Fatal(err)
	}
	res := batch.NewResults(db)
	inWindow := map[string]int{} // id -> windows whose range holds its stored_at
	stagedIn := map[string]int{} // id -> ledger windows whose run staged it
	sumCompleted, skippedRows, skippedWindows, lateSeen := 0, 0, 0, 0
	completedAfterSkip := false
	for i, cl := range claims {
		w := cl.Window()
		if i > 0 && !w.Start.Equal(claims[i-1].End) {
			t.Errorf("ledger window %d %s does not start where %d ended (%s)", i, w, i-1, claims[i-1].End)
		}
		n, late := 0, 0
		for _, r := range stored {
			if !r.stored.Before(w.Start) && r.stored.Before(w.End) {
				n++
				inWindow[r.id]++
				if r.received.Before(w.Start) {
					late++
				}
			}
		}
		doc, found, err := res.Get(ctx, batch.ReportID(ledgerDataset, w))
		if err != nil {
			t.Fatal(err)
		}
		if !found {
			t.Errorf("ledger window %d %s has no result (%d records)", i, w, n)
			continue
		}
		if doc.WindowKind != batch.KindLedger || doc.LedgerSeq == nil || *doc.LedgerSeq != cl.Seq || doc.SelectedBy != batch.SelectedByStoredAt {
			t.Errorf("window %d: kind %q seq %v selected by %q", i, doc.WindowKind, doc.LedgerSeq, doc.SelectedBy)
		}
		if doc.Rows.Current != n || doc.Rows.Late != late {
			t.Errorf("window %d %s: rows.current %d late %d, but %d records (%d late) were stored in it", i, w, doc.Rows.Current, doc.Rows.Late, n, late)
		}
		// The ids the run staged for the window, read before InsertResults cleaned them.
		ids, ok := staged.get(w)
		if !ok && doc.Rows.Current > 0 {
			t.Errorf("window %d %s: no staged ids seen", i, w)
		}
		if len(ids) != doc.Rows.Current {
			t.Errorf("window %d %s: %d ids staged, rows.current %d", i, w, len(ids), doc.Rows.Current)
		}
		for _, id := range ids {
			stagedIn[id]++
		}
		lateSeen += late
		switch doc.Status {
		case batch.StatusCompleted, batch.StatusNoData:
			sumCompleted += doc.Rows.Current
			if skippedWindows > 0 && doc.Status == batch.StatusCompleted {
				completedAfterSkip = true
			}
		case batch.StatusSkipped:
			skippedWindows++
			skippedRows += doc.Rows.Current
			if !strings.Contains(doc.Error, "poison record") {
				t.Errorf("skipped window %d: reason %q does not say why", i, doc.Error)
			}
			t.Logf("window %d %s skipped after %d attempts: %.120s", i, w, poisonAttempts.Load(), doc.Error)
		default:
			t.Errorf("window %d %s: status %s (%s)", i, w, doc.Status, doc.Error)
		}
	}
	if last := claims[len(claims)-1]; !fres.WindowEnd.Equal(last.End) && fres.Status != workflows.StatusEmpty {
		t.Errorf("final run %s ends at %s, the ledger at %s", fres.Status, fres.WindowEnd, last.End)
	}
	for _, r := range stored {
		if inWindow[r.id] != 1 || stagedIn[r.id] != 1 {
			t.Errorf("%s (stored %s) is in %d ledger windows by its stored_at, staged by %d runs", r.id, r.stored.Format(time.RFC3339Nano), inWindow[r.id], stagedIn[r.id])
		}
	}
	if len(stagedIn) != len(stored) {
		t.Errorf("%d distinct ids staged over the ledger windows, %d records stored", len(stagedIn), len(stored))
	}
	if sumCompleted+skippedRows != len(stored) {
		t.Errorf("sum of rows.current: %d over completed windows + %d skipped = %d, %d records stored", sumCompleted, skippedRows, sumCompleted+skippedRows, len(stored))
	}
	if skippedWindows != 1 || skippedRows == 0 || poisonAttempts.Load() < 2 {
		t.Errorf("%d skipped windows (%d rows), poison computed %d times: want one window skipped after its retries", skippedWindows, skippedRows, poisonAttempts.Load())
	}
	if !completedAfterSkip {
		t.Error("no window completed after the skipped one")
	}
	if lateSeen < len(lateRides) {
		t.Errorf("%d late rows counted, want at least the %d rides written late", lateSeen, len(lateRides))
	}

	// The runs: no two results of ledger windows overlap; both loops ran.
	runsMu.Lock()
	defer runsMu.Unlock()
	var ledgerRuns []workflows.Result
	kinds := map[string]int{}
	for _, r := range append(results, fres) {
		kinds[r.Status]++
		if r.WindowKind == batch.KindLedger && r.WindowEnd.After(r.WindowStart) {
			ledgerRuns = append(ledgerRuns, r)
		}
	}
	sort.Slice(ledgerRuns, func(i, j int) bool { return ledgerRuns[i].WindowStart.Before(ledgerRuns[j].WindowStart) })
	for i := 1; i < len(ledgerRuns); i++ {
		if ledgerRuns[i].WindowStart.Before(ledgerRuns[i-1].WindowEnd) {
			t.Errorf("runs overlap: %s .. %s and %s .. %s", ledgerRuns[i-1].WindowStart, ledgerRuns[i-1].WindowEnd, ledgerRuns[i].WindowStart, ledgerRuns[i].WindowEnd)
		}
	}
	failedRuns := 0
	for _, e := range runErrs {
		if !strings.Contains(e.Error(), "poison") {
			t.Errorf("run failed: %v", e)
		}
		failedRuns++
	}
	t.Logf("%d ledger windows, %d records stored (%d late), runs by status %v, %d failed run(s) (the poison window)", len(claims), len(stored), lateSeen, kinds, failedRuns)

	// The worker's gauge counts the skipped window.
	gauge := batchmetrics.New(db, quiet)
	if got := gaugeValue(t, gauge, ledgerDataset, batch.StatusSkipped); got != 1 {
		t.Errorf("modelmon_batch_windows{status=skipped} = %v, want 1", got)
	}
}

// stagedIds records, for every InsertResults that carries a result of a run with
// rows, the ids the run staged (stage "current"), read from the staging before the
// activity deletes it: the rows each window's report counted, id by id.
type stagedIDs struct {
	interceptor.WorkerInterceptorBase
	db       *mongo.Database
	mu       sync.Mutex
	byWindow map[string][]string // by batch.Window.String
}

func (s *stagedIDs) get(w batch.Window) ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids, ok := s.byWindow[w.String()]
	return ids, ok
}

func (s *stagedIDs) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &stagedIDsIn{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, s: s}
}

type stagedIDsIn struct {
	interceptor.ActivityInboundInterceptorBase
	s *stagedIDs
}

func (i *stagedIDsIn) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	if activity.GetInfo(ctx).ActivityType.Name == "InsertResults" && len(in.Args) == 1 {
		if ri, ok := in.Args[0].(batchapi.InsertResultsInput); ok && ri.Rows.Current > 0 {
			var ids []string
			err := batch.NewStaging(i.s.db).Scan(ctx, batch.StageRef{Run: ri.Run, Stage: batch.StageCurrent}, batch.ScanOptions{IDs: true, NoData: true},
				func(c batch.Chunk) error {
					got, err := batch.DecodeIDs(c.IDs)
					ids = append(ids, got...)
					return err
				})
			if err == nil {
				i.s.mu.Lock()
				i.s.byWindow[ri.Window.String()] = ids
				i.s.mu.Unlock()
			}
		}
	}
	return i.Next.ExecuteActivity(ctx, in)
}

// gaugeValue reads modelmon_batch_windows{dataset, status} from the collector.
func gaugeValue(t *testing.T, c prometheus.Collector, dataset, status string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "modelmon_batch_windows" {
			continue
		}
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			if got["dataset"] == dataset && got["status"] == status {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series modelmon_batch_windows{dataset=%q,status=%q}", dataset, status)
	return 0
}

// Command batchscale measures the partitioned BatchMonitoring path: it loads N logged
// predictions made from the real TLC months in data/ (new ids, received_at spread
// over one day) and their targets into the store (an embedded FerretDB unless
// --mongodb), starts an embedded Temporal server and K worker processes (the worker
// binary, built first), runs one BatchMonitoring over the day with partition_rows,
// computes the exact single-pass report of the same rows in this process, and
// prints one JSON line:
//
//	go run ./bench/batchscale --rows 200000 --workers 2
//	{"rows":200000,"workers":2,"partitions":1,"partitions_per_worker":[..],"peak_rss_mb":[..],
//	 "wall_s":..,"rows_per_s":..,"store_scan_rows_per_s":..,"max_dev":{..}}
//
// peak_rss_mb is each worker process's VmHWM (Linux /proc). store_scan_rows_per_s is
// one pass of the window's logged rows with the partitions' projection, measured
// before the run, on the same store. max_dev is, per statistic family, the largest
// deviation of the partitioned report from the exact single pass.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/batch/batchtest"
	"github.com/modelmon/modelmon/internal/devtemporal"
	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/mongotest"
	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/taxi"
	"github.com/modelmon/modelmon/workflows"
)

type options struct {
	rows, workers, partitionRows, fanOut int
	mongoURI, dir                        string
	noExact                              bool
}

func main() {
	var o options
	flag.IntVar(&o.rows, "rows", 50_000, "logged predictions to load and monitor")
	flag.IntVar(&o.workers, "workers", 2, "worker processes")
	flag.IntVar(&o.partitionRows, "partition-rows", benchPartitionRows, "partition_rows of the run (max rows per partition; the workflow's own default is "+strconv.Itoa(batchapi.DefaultPartitionRows)+")")
	flag.IntVar(&o.fanOut, "fan-out", 0, "partition_fan_out of the run (0: 2 x workers)")
	flag.StringVar(&o.mongoURI, "mongodb", "", "MongoDB URI; empty starts an embedded FerretDB in a temporary directory")
	flag.StringVar(&o.dir, "dir", "", "work directory (default: a new temporary directory, removed at exit)")
	flag.BoolVar(&o.noExact, "no-exact", false, "skip the exact single-pass comparison (max_dev)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "batchscale:", err)
		os.Exit(1)
	}
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, a...)...)
}

// benchPartitionRows is the bench's default partition size, smaller than the
// workflow's (batchapi.DefaultPartitionRows, 250,000) so that the issue's
// smallest run, 200,000 rows on 2 workers, has a partition for each worker. A
// partition's memory follows its size, not the window's, so one fixed size
// for every --rows is what shows whether memory is flat in N.
const benchPartitionRows = 100_000

// window is the day the loaded predictions are spread over.
var window = batch.Window{Start: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2024, 6, 2, 0, 0, 0, 0, time.UTC)}

type result struct {
	Rows                int                `json:"rows"`
	Workers             int                `json:"workers"`
	PartitionRows       int                `json:"partition_rows"`
	Partitions          int                `json:"partitions"`
	PartitionsPerWorker []int              `json:"partitions_per_worker"`
	PeakRSSMB           []float64          `json:"peak_rss_mb"`
	WallS               float64            `json:"wall_s"`
	RowsPerS            float64            `json:"rows_per_s"`
	StoreScanRowsPerS   float64            `json:"store_scan_rows_per_s"`
	Store               string             `json:"store"`
	ProfileBytesPerPart int                `json:"profile_bytes_per_partition"`
	HistoryEvents       int                `json:"history_events"`
	TimingsMS           map[string]int64   `json:"timings_ms"`
	MaxDev              map[string]float64 `json:"max_dev,omitempty"`
}

func run(ctx context.Context, o options) error {
	if o.rows < 1 || o.workers < 1 || o.partitionRows < 1 {
		return fmt.Errorf("--rows, --workers and --partition-rows must be >= 1")
	}
	if o.fanOut == 0 {
		o.fanOut = 2 * o.workers
	}
	root := batchtest.RepoRoot()
	if o.dir == "" {
		d, err := os.MkdirTemp("", "batchscale-")
		if err != nil {
			return fmt.Errorf("temp dir: %w", err)
		}
		defer os.RemoveAll(d)
		o.dir = d
	}
	res := result{Rows: o.rows, Workers: o.workers, PartitionRows: o.partitionRows, Store: "mongodb"}
	if o.mongoURI == "" {
		srv, err := mongotest.Start(ctx, mongotest.Options{Dir: filepath.Join(o.dir, "ferretdb"), Addr: "127.0.0.1:0"})
		if err != nil {
			return err
		}
		defer srv.Stop()
		o.mongoURI, res.Store = srv.URI, "ferretdb-embedded"
	}
	mc, err := mongodb.Connect(ctx, o.mongoURI)
	if err != nil {
		return err
	}
	defer mc.Disconnect(context.WithoutCancel(ctx))
	dbName := "batchscale_" + strconv.FormatInt(time.Now().Unix(), 36)
	db := mc.Database(dbName)
	defer db.Drop(context.WithoutCancel(ctx))

	m, err := model.Load(filepath.Join(root, "models", "duration_model.json"))
	if err != nil {
		return err
	}
	ds := batch.Taxi()
	t0 := time.Now()
	if err := load(ctx, db, m, o.rows, root); err != nil {
		return err
	}
	logf("loaded %d predictions and targets in %s", o.rows, time.Since(t0).Round(time.Millisecond))

	// The store's own scan rate of this window, with the partitions' projection.
	t0 = time.Now()
	cur, err := batch.FindLogged(ctx, db, &ds, window)
	if err != nil {
		return err
	}
	n := 0
	for cur.Next(ctx) {
		n++
	}
	cur.Close(ctx)
	if err := cur.Err(); err != nil {
		return err
	}
	res.StoreScanRowsPerS = round(float64(n) / time.Since(t0).Seconds())
	logf("store scan: %d rows at %.0f rows/s", n, res.StoreScanRowsPerS)

	tsrv, err := devtemporal.Start(ctx, devtemporal.Options{UIPort: -1})
	if err != nil {
		return err
	}
	defer tsrv.Stop()
	tc, err := client.DialContext(ctx, client.Options{HostPort: tsrv.FrontendHostPort(), Namespace: tsrv.Namespace()})
	if err != nil {
		return err
	}
	defer tc.Close()

	bin := filepath.Join(o.dir, "worker")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./worker")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build the worker: %w", err)
	}
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			if p.Process != nil && p.ProcessState == nil {
				_ = p.Process.Kill()
				_ = p.Wait()
			}
		}
	}()
	// start starts (or restarts) worker i, its output appended to worker-i.log.
	start := func(i int) error {
		logFile, err := os.OpenFile(filepath.Join(o.dir, fmt.Sprintf("worker-%d.log", i)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer logFile.Close() // the child holds its own descriptor
		cmd := exec.CommandContext(ctx, bin)
		cmd.Dir = root
		cmd.Env = append(os.Environ(),
			"TEMPORAL_ADDRESS="+tsrv.FrontendHostPort(), "TEMPORAL_NAMESPACE="+tsrv.Namespace(),
			"MONGODB_ADDRESS="+o.mongoURI, "MONGODB_DATABASE="+dbName,
			"DATA_DIR="+root, "REPORTS_DIR="+filepath.Join(o.dir, "reports"), "METRICS_ADDR=127.0.0.1:0", "LOG_LEVEL=warn")
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start worker %d: %w", i, err)
		}
		if i < len(procs) {
			procs[i] = cmd
		} else {
			procs = append(procs, cmd)
		}
		return nil
	}
	for i := range o.workers {
		if err := start(i); err != nil {
			return err
		}
	}
	if err := waitPollers(ctx, tc, tsrv.Namespace(), func() []*exec.Cmd { return procs }, start); err != nil {
		return err
	}
	logf("%d workers polling", o.workers)

	t0 = time.Now()
	wr, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: batch.WorkflowID("taxi", window), TaskQueue: workflows.TaskQueue},
		workflows.WorkflowType, workflows.Input{
			Dataset: "taxi", WindowStart: window.Start.Format(time.RFC3339), WindowEnd: window.End.Format(time.RFC3339),
			PartitionRows: o.partitionRows, PartitionFanOut: o.fanOut,
		})
	if err != nil {
		return err
	}
	var wres workflows.Result
	if err := wr.Get(ctx, &wres); err != nil {
		return fmt.Errorf("workflow: %w", err)
	}
	res.WallS = round(time.Since(t0).Seconds())
	res.RowsPerS = round(float64(wres.Rows.Current) / res.WallS)
	res.Partitions = max(wres.Partitions, 1)
	res.TimingsMS = wres.TimingsMS
	res.ProfileBytesPerPart = wres.ProfileBytes / res.Partitions
	it := tc.GetWorkflowHistory(ctx, wr.GetID(), wr.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		if _, err := it.Next(); err != nil {
			return fmt.Errorf("read the run's history: %w", err)
		}
		res.HistoryEvents++
	}
	for _, p := range procs {
		rss, err := peakRSSMB(p.Process.Pid)
		if err != nil {
			return err
		}
		res.PeakRSSMB = append(res.PeakRSSMB, rss)
		res.PartitionsPerWorker = append(res.PartitionsPerWorker, wres.PartitionsByWorker[workerName(p.Process.Pid)])
		_ = p.Process.Signal(syscall.SIGTERM)
		_ = p.Wait()
	}
	logf("run: %s, %d rows, %d partitions, %.1fs", wres.Status, wres.Rows.Current, res.Partitions, res.WallS)
	if wres.Rows.Current != o.rows {
		return fmt.Errorf("the run saw %d rows, %d loaded", wres.Rows.Current, o.rows)
	}

	if !o.noExact {
		t0 = time.Now()
		res.MaxDev, err = deviations(ctx, db, &ds, m, root, batch.ReportID("taxi", window))
		if err != nil {
			return err
		}
		logf("exact single pass computed and compared in %s", time.Since(t0).Round(time.Millisecond))
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

func round(x float64) float64 { return math.Round(x*100) / 100 }

func workerName(pid int) string {
	h, _ := os.Hostname()
	return h + "/" + strconv.Itoa(pid)
}

// peakRSSMB reads VmHWM of a process.
func peakRSSMB(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak RSS of %d: %w", pid, err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				return 0, fmt.Errorf("peak RSS of %d: %q: %w", pid, rest, err)
			}
			return round(float64(kb) / 1024), nil
		}
	}
	return 0, fmt.Errorf("peak RSS of %d: no VmHWM", pid)
}

// waitPollers waits until every worker polls the task queue. A worker that
// exits at start (on a loaded machine the worker's 5 s MongoDB ping can time
// out while the embedded FerretDB is busy) is restarted, at most 3 times.
func waitPollers(ctx context.Context, tc client.Client, ns string, procs func() []*exec.Cmd, restart func(int) error) error {
	n := len(procs())
	restarts := make([]int, n)
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		for i, p := range procs() {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Process.Pid)); err != nil || strings.Contains(string(b), ") Z ") {
				_ = p.Wait()
				if restarts[i] == 3 {
					return fmt.Errorf("worker %d exited at start 4 times (see worker-%d.log with --dir)", i, i)
				}
				restarts[i]++
				logf("worker %d exited at start (%s); restarting it", i, p.ProcessState)
				if err := restart(i); err != nil {
					return err
				}
			}
		}
		r, err := tc.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
			Namespace: ns, TaskQueue: &taskqueuepb.TaskQueue{Name: workflows.TaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
			TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY,
		})
		if err != nil {
			return fmt.Errorf("describe task queue: %w", err)
		}
		ids := map[string]bool{}
		for _, p := range r.Pollers {
			ids[p.GetIdentity()] = true
		}
		if len(ids) >= n {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%d workers did not start polling within 2 minutes (see their logs)", n)
}

// load inserts n rides from the months in data/ (from 2022-01 on, cycling), each with
// a new id and a received_at spread evenly over window, and their targets.
func load(ctx context.Context, db *mongo.Database, m *model.Model, n int, root string) error {
	files, err := filepath.Glob(filepath.Join(root, "data", "green_tripdata_*.parquet"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no TLC months in %s/data (%v)", root, err)
	}
	sort.Strings(files)
	// Start after the reference month (2021-01), so the window drifts as real
	// traffic would; cycle through the months (new ids) beyond ~600k rows.
	for i, f := range files {
		if strings.HasSuffix(f, "2022-01.parquet") {
			files = append(files[i:], files[:i]...)
			break
		}
	}
	data := db.Collection(mongodb.CollectionData)
	step := window.End.Sub(window.Start) / time.Duration(n)
	var targets []batch.Target
	var docs []any
	k := 0
	for f := 0; k < n; f = (f + 1) % len(files) {
		trips, err := taxi.ReadFile(ctx, files[f])
		if err != nil {
			return err
		}
		for i := range trips {
			t := &trips[i]
			if t.PULocationID == nil || t.DOLocationID == nil || t.TripDistance == nil || t.Pickup == nil || t.Dropoff == nil {
				continue
			}
			dur, _ := t.DurationMinutes()
			r := batchtest.Ride{
				ID: "bs-" + strconv.Itoa(k), Trip: *t, Duration: dur,
				Prediction: m.Predict(taxi.PUDO(*t.PULocationID, *t.DOLocationID), []float64{*t.TripDistance}),
				ReceivedAt: window.Start.Add(time.Duration(k) * step),
			}
			docs = append(docs, r.Doc(m.Version))
			targets = append(targets, batch.Target{ID: r.ID, Value: dur})
			if len(docs) == 1000 {
				if _, err := data.InsertMany(ctx, docs); err != nil {
					return fmt.Errorf("insert predictions: %w", err)
				}
				docs = docs[:0]
			}
			if k++; k == n {
				break
			}
		}
	}
	if len(docs) > 0 {
		if _, err := data.InsertMany(ctx, docs); err != nil {
			return fmt.Errorf("insert predictions: %w", err)
		}
	}
	_, err = batch.UploadTargets(ctx, db.Collection(mongodb.CollectionTarget), mongodb.FieldTargetDuration, targets, 1000, nil)
	return err
}

// deviations computes the exact single-pass report of the window in this process
// (every row in memory, report.Compute) and returns, per statistic family, the
// largest deviation of the stored (partitioned) report from it.
func deviations(ctx context.Context, db *mongo.Database, ds *batch.Dataset, m *model.Model, root, reportID string) (map[string]float64, error) {
	doc, found, err := batch.NewResults(db).Get(ctx, reportID)
	if err != nil || !found {
		return nil, fmt.Errorf("result %s: found %v: %w", reportID, found, err)
	}
	raw, err := doc.ReportJSON()
	if err != nil {
		return nil, err
	}
	var got report.Report
	if err := json.Unmarshal(raw, &got); err != nil {
		return nil, fmt.Errorf("decode the stored report: %w", err)
	}
	cur, err := batch.FindLogged(ctx, db, ds, window)
	if err != nil {
		return nil, err
	}
	defer cur.Close(context.WithoutCancel(ctx))
	b := batch.NewChunkBuilder(ds, nil, 1<<16)
	for cur.Next(ctx) {
		b.Add(cur.Current)
	}
	if err := cur.Err(); err != nil {
		return nil, err
	}
	d, ids := b.Dataset(), b.IDs
	want := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		want[id] = struct{}{}
	}
	tm, err := batch.ScanTargets(ctx, db, ds, want)
	if err != nil {
		return nil, err
	}
	d.Target, d.TargetValid = make([]float64, d.Rows), make([]bool, d.Rows)
	for i, id := range ids {
		if v, ok := tm[id]; ok && ds.InDomain(v) {
			d.Target[i], d.TargetValid[i] = v, true
		}
	}
	ref, _, err := ds.LoadReference(ctx, filepath.Join(root, ds.DefaultReference), m)
	if err != nil {
		return nil, err
	}
	exact, err := report.Compute(ctx, ref, d, ds.Report)
	if err != nil {
		return nil, err
	}
	dev := map[string]float64{"rows": math.Abs(float64(got.CurrentRows - exact.CurrentRows))}
	upd := func(k string, v float64) {
		if math.IsNaN(v) {
			v = math.Inf(1)
		}
		dev[k] = max(dev[k], v)
	}
	rel := func(a, b float64) float64 {
		if a == b {
			return 0
		}
		return math.Abs(a-b) / math.Max(math.Abs(a), math.Abs(b))
	}
	for name, e := range exact.DataDrift.Columns {
		g, ok := got.DataDrift.Columns[name]
		if !ok {
			upd("missing_columns", 1)
			continue
		}
		switch {
		case e.Type == "categorical":
			upd("categorical_drift_abs", math.Abs(g.Statistic-e.Statistic))
		case e.StatTest == "ks":
			upd("ks_d_abs", math.Abs(g.Statistic-e.Statistic))
		default:
			upd(e.StatTest+"_rel", rel(g.Statistic, e.Statistic))
		}
		if g.Drifted != e.Drifted {
			upd("verdicts_differing", 1)
		}
	}
	if er, gr := exact.Regression.Current, got.Regression.Current; er != nil && gr != nil {
		for _, p := range [][2]float64{{gr.ME, er.ME}, {gr.MAE, er.MAE}, {gr.RMSE, er.RMSE}, {gr.R2, er.R2}} {
			upd("regression_rel", rel(p[0], p[1]))
		}
		for k, v := range er.ErrorQuantiles {
			upd("error_quantiles_rel", rel(gr.ErrorQuantiles[k], v))
		}
		upd("regression_rows", math.Abs(float64(gr.N-er.N)))
	} else if (er == nil) != (gr == nil) {
		upd("regression_missing", 1)
	}
	for name, e := range exact.DataQuality.Current {
		g := got.DataQuality.Current[name]
		upd("quality_counts_abs", math.Abs(float64(g.Count-e.Count))+math.Abs(float64(g.Missing-e.Missing)))
		for _, q := range [][2]*float64{{g.Mean, e.Mean}, {g.Std, e.Std}, {g.Min, e.Min}, {g.Max, e.Max}} {
			if q[0] != nil && q[1] != nil {
				upd("quality_moments_rel", rel(*q[0], *q[1]))
			}
		}
		for _, q := range [][2]*float64{{g.P25, e.P25}, {g.P50, e.P50}, {g.P75, e.P75}} {
			if q[0] != nil && q[1] != nil {
				upd("quality_quantiles_rel", rel(*q[0], *q[1]))
			}
		}
	}
	return dev, nil
}

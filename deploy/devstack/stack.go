package main

import (
	"github.com/modelmon/modelmon/internal/envconf"
	"github.com/modelmon/modelmon/internal/mongodb"

	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/modelmon/modelmon/deploy"
	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchmetrics"
	"github.com/modelmon/modelmon/internal/devtemporal"
	"github.com/modelmon/modelmon/internal/mongotest"
	"github.com/modelmon/modelmon/internal/onlineapp"
	"github.com/modelmon/modelmon/internal/replay"
	"github.com/modelmon/modelmon/internal/serve"
	"github.com/modelmon/modelmon/internal/store"
	"github.com/modelmon/modelmon/internal/taxi"
	"github.com/modelmon/modelmon/starter/batchsched"
	"github.com/modelmon/modelmon/worker/batchworker"
	"github.com/modelmon/modelmon/workflows"
)

// Options are devstack's flags.
type Options struct {
	DataDir        string
	MongoAddr      string
	TemporalPort   int
	UIPort         int
	OnlineAddr     string
	WorkerMetrics  string
	PrometheusAddr string
	// PrometheusInterval is Prometheus' scrape and evaluation interval (default
	// deploy.DefaultInterval, as shipped).
	PrometheusInterval time.Duration
	AlertmanagerAddr   string
	LogQueueSize       int
	ModelPath          string
	MonitorConfig      string
	Reference          string
	Months             string
	AllMonths          bool
	ReplayLimit        int
	ReplayRate         float64
	Concurrency        int
	NoDemo             bool
	ExitAfterDemo      bool
	Verbose            bool

	// ruleTimeDivisor, when > 1, divides every duration of the alert rules
	// (deploy.ScaleRuleDurations): tests run the shipped rules on a faster clock.
	ruleTimeDivisor int
}

// Register defines the flags. The settings that the online service and the worker
// also read (model, monitoring config, addresses) come from the envconf table, with
// the same flag and variable as there; the rest are the stack's own.
func (o *Options) Register(fs *flag.FlagSet, getenv func(string) string) *envconf.Binder {
	b := envconf.NewBinder(fs, getenv)
	fs.StringVar(&o.DataDir, "data-dir", "var/devstack", "state of FerretDB, Temporal, Prometheus, reports and targets (reused by the next start)")
	fs.StringVar(&o.MongoAddr, "mongo-addr", "127.0.0.1:27017", "FerretDB listen address")
	fs.IntVar(&o.TemporalPort, "temporal-port", 7233, "Temporal frontend port on 127.0.0.1")
	fs.IntVar(&o.UIPort, "ui-port", 8233, "Temporal Web UI port on 127.0.0.1 (-1: no UI)")
	b.String(&o.OnlineAddr, envconf.OnlineAddr)
	b.String(&o.WorkerMetrics, envconf.MetricsAddr)
	fs.StringVar(&o.PrometheusAddr, "prometheus-addr", "127.0.0.1:9090", "Prometheus listen address, if prometheus is on PATH (empty: don't start it)")
	fs.DurationVar(&o.PrometheusInterval, "prometheus-interval", deploy.DefaultInterval, "Prometheus scrape and rule-evaluation interval")
	fs.StringVar(&o.AlertmanagerAddr, "alertmanager-addr", "127.0.0.1:9093", "Alertmanager listen address, if prometheus-alertmanager is on PATH (empty: don't start it)")
	b.Int(&o.LogQueueSize, envconf.LogQueueSize)
	b.String(&o.ModelPath, envconf.ModelPathVar)
	b.String(&o.MonitorConfig, envconf.MonitorConfig)
	fs.StringVar(&o.Reference, "reference", "data/green_tripdata_2021-01.parquet", "reference month of the batch runs")
	fs.StringVar(&o.Months, "months", "2021-02,2022-01", "months of data/ to replay, in order, one batch run each")
	fs.BoolVar(&o.AllMonths, "all-months", false, "replay every month in data/ except the reference, in order (the report's trend shows drift growing)")
	fs.IntVar(&o.ReplayLimit, "replay-limit", 0, "rides replayed per month, spread evenly over the month (0: all)")
	fs.Float64Var(&o.ReplayRate, "rate", 0, "replay requests per second (0: as fast as --concurrency allows)")
	fs.IntVar(&o.Concurrency, "concurrency", 16, "replay requests in flight")
	fs.BoolVar(&o.NoDemo, "no-demo", false, "start the stack only: no replay, no runs")
	fs.BoolVar(&o.ExitAfterDemo, "exit-after-demo", false, "stop everything once the demo's runs are done (short mode, for tests)")
	fs.BoolVar(&o.Verbose, "v", false, "debug logs")
	return b
}

// Stack is a started devstack: the parts the demo and the tests drive.
type Stack struct {
	o   Options
	log *slog.Logger

	fdb *mongotest.Server
	ts  *devtemporal.Server
	tc  client.Client
	cfg batch.Config
	DB  *mongo.Database // the stack's database (prediction_service)

	OnlineURL        string // http://host:port of the online service
	WorkerMetricsURL string // http://host:port of the worker's /metrics
	PromURL          string // empty: Prometheus not started
	AlertmanagerURL  string // empty: Alertmanager not started

	onlineStop, workerStop func()
	stops                  []func()
}

// Run starts the stack, runs the demo and waits for ctx.
func Run(ctx context.Context, o Options, out io.Writer, log *slog.Logger) (err error) {
	s, err := Start(ctx, o, log)
	if err != nil {
		return err
	}
	defer s.Close()
	s.printURLs(out)

	if !o.NoDemo {
		if err := demo(ctx, o, out, s.tc, s.DB, s.OnlineURL, s.cfg, log); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	if o.ExitAfterDemo {
		return nil
	}
	fmt.Fprintln(out, "\nrunning; Ctrl-C stops everything")
	<-ctx.Done()
	fmt.Fprintln(out, "stopping")
	return nil
}

// Start starts every part; Close stops them. On error, what started is stopped.
func Start(ctx context.Context, o Options, log *slog.Logger) (_ *Stack, err error) {
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	for _, p := range []string{o.ModelPath, o.MonitorConfig, o.Reference} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%w (run devstack from the repository root)", err)
		}
	}
	// Every port is checked before anything starts: a taken port is a clear error.
	for _, a := range []string{o.MongoAddr, o.OnlineAddr, o.WorkerMetrics, net.JoinHostPort("127.0.0.1", strconv.Itoa(o.TemporalPort))} {
		if err := portFree(a); err != nil {
			return nil, err
		}
	}
	s := &Stack{o: o, log: log}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	// 1. FerretDB.
	s.fdb, err = mongotest.Start(ctx, mongotest.Options{Dir: filepath.Join(o.DataDir, "ferretdb"), Addr: o.MongoAddr})
	if err != nil {
		return nil, err
	}
	s.stops = append(s.stops, s.fdb.Stop)
	log.Info("FerretDB up", "uri", s.fdb.URI)
	mc, err := mongo.Connect(options.Client().ApplyURI(s.fdb.URI))
	if err != nil {
		return nil, fmt.Errorf("mongodb client: %w", err)
	}
	s.stops = append(s.stops, func() { _ = mc.Disconnect(context.Background()) })
	s.DB = mc.Database(mongodb.Database)

	// 2. Temporal + Web UI.
	s.ts, err = devtemporal.Start(ctx, devtemporal.Options{
		DBFile: filepath.Join(o.DataDir, "temporal.db"), FrontendPort: o.TemporalPort, UIPort: o.UIPort, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	ts := s.ts
	s.stops = append(s.stops, func() { _ = ts.Stop() })
	log.Info("Temporal up", "frontend", ts.FrontendHostPort(), "ui", ts.UIURL(), "started_in", ts.StartDuration())

	// 3. The online service with live monitoring.
	if err := s.StartOnline(ctx); err != nil {
		return nil, err
	}
	s.stops = append(s.stops, s.StopOnline)

	// 4. The batch worker and its metrics.
	tc, err := client.DialContext(ctx, client.Options{
		HostPort: ts.FrontendHostPort(), Namespace: ts.Namespace(),
		Logger: tlog.NewStructuredLogger(log.With("part", "temporal-client")),
	})
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal: %w", err)
	}
	s.tc = tc
	s.stops = append(s.stops, tc.Close)
	s.cfg = batch.Config{
		TemporalAddress: ts.FrontendHostPort(), Namespace: ts.Namespace(), TaskQueue: workflows.TaskQueue,
		MongoURI: s.fdb.URI, Database: mongodb.Database, ModelPath: o.ModelPath,
		ReportsDir: filepath.Join(o.DataDir, "reports"), DataDir: ".",
	}
	if err := s.StartWorker(ctx); err != nil {
		return nil, err
	}
	s.stops = append(s.stops, s.StopWorker)

	// 5. Alertmanager and Prometheus, when installed.
	if err := s.startMonitoring(ctx); err != nil {
		return nil, err
	}

	// 6. The hourly schedule: created once, updated on later starts.
	if err := ensureSchedule(ctx, tc, o); err != nil {
		return nil, err
	}
	return s, nil
}

// Close stops every part, last started first.
func (s *Stack) Close() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
	s.stops = nil
}

// StartOnline starts the online service (its own context: StopOnline stops it
// alone, as a crash would); it is listening when StartOnline returns.
func (s *Stack) StartOnline(ctx context.Context) error {
	if s.onlineStop != nil {
		return errors.New("online service already running")
	}
	onlineCtx, stopOnline := context.WithCancel(ctx)
	onlineDone := make(chan error, 1)
	listening := make(chan string, 1)
	log := s.log
	go func() {
		onlineDone <- onlineapp.Run(onlineCtx, onlineapp.Options{
			Serve: serve.Options{
				Addr: s.o.OnlineAddr, MongoURI: s.fdb.URI, ModelPath: s.o.ModelPath, Logger: log.With("part", "online"),
				SpoolDir: filepath.Join(s.o.DataDir, "spool"),
				Store:    store.LoggerOptions{QueueSize: s.o.LogQueueSize},
				OnListen: func(a string) { listening <- a },
			},
			MonitorConfig: s.o.MonitorConfig,
		})
	}()
	select {
	case a := <-listening:
		s.OnlineURL = "http://" + a
	case err := <-onlineDone:
		stopOnline()
		return fmt.Errorf("online service: %w", err)
	case <-ctx.Done():
		stopOnline()
		return ctx.Err()
	}
	s.onlineStop = func() {
		stopOnline()
		if err := <-onlineDone; err != nil {
			log.Error("online service stopped", "error", err)
		}
	}
	return nil
}

// StopOnline stops the online service and waits for it.
func (s *Stack) StopOnline() {
	if s.onlineStop != nil {
		s.onlineStop()
		s.onlineStop = nil
	}
}

// StartWorker starts the batch worker and its /metrics.
func (s *Stack) StartWorker(ctx context.Context) error {
	if s.workerStop != nil {
		return errors.New("worker already running")
	}
	cfg, log := s.cfg, s.log
	wk, err := batchworker.Start(ctx, s.tc, cfg, batchworker.Options{Logger: log.With("part", "worker")})
	if err != nil {
		return err
	}
	metricsCtx, stopMetrics := context.WithCancel(ctx)
	var workerMetrics string
	// A restart may find the previous metrics server still closing its listener.
	for i := 0; ; i++ {
		workerMetrics, err = batchmetrics.Serve(metricsCtx, s.o.WorkerMetrics, wk.Activities.DB, log)
		if err == nil || i == 50 || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		stopMetrics()
		wk.Stop(context.Background())
		return err
	}
	s.WorkerMetricsURL = "http://" + workerMetrics
	s.workerStop = func() {
		stopMetrics()
		wk.Stop(context.Background())
	}
	return nil
}

// StopWorker stops the batch worker and its /metrics.
func (s *Stack) StopWorker() {
	if s.workerStop != nil {
		s.workerStop()
		s.workerStop = nil
	}
}

func portFree(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("address %s is taken (another devstack, mongod or service?): %w; choose another with the flags", addr, err)
	}
	return ln.Close()
}

func ensureSchedule(ctx context.Context, c client.Client, o Options) error {
	spec := batchsched.Spec{Dataset: "taxi", Every: time.Hour, Reference: o.Reference}
	_, err := batchsched.Create(ctx, c, spec)
	var exists *serviceerror.AlreadyExists
	if errors.As(err, &exists) || (err != nil && strings.Contains(err.Error(), "already")) {
		every := time.Hour
		return batchsched.Update(ctx, c, "taxi", batchsched.Change{Every: &every})
	}
	return err
}

func (s *Stack) printURLs(out io.Writer) {
	ts, o := s.ts, s.o
	fmt.Fprintln(out, "modelmon devstack is up:")
	fmt.Fprintf(out, "  predict          curl -s -XPOST -H 'Content-Type: application/json' %s/predict -d '{\"PULocationID\":74,\"DOLocationID\":75,\"trip_distance\":2.1}'\n", s.OnlineURL)
	fmt.Fprintf(out, "  online metrics   %s/metrics\n", s.OnlineURL)
	fmt.Fprintf(out, "  live report      %s/monitor/taxi/report\n", s.OnlineURL)
	fmt.Fprintf(out, "  worker metrics   %s/metrics\n", s.WorkerMetricsURL)
	fmt.Fprintf(out, "  Temporal         %s (namespace %s, task queue %s)\n", ts.FrontendHostPort(), ts.Namespace(), workflows.TaskQueue)
	if ui := ts.UIURL(); ui != "" {
		fmt.Fprintf(out, "  Temporal UI      %s/namespaces/%s/workflows\n", ui, ts.Namespace())
		fmt.Fprintf(out, "  schedules        %s/namespaces/%s/schedules\n", ui, ts.Namespace())
	}
	if s.PromURL != "" {
		fmt.Fprintf(out, "  Prometheus       %s (config %s)\n", s.PromURL, filepath.Join(o.DataDir, "prometheus", "prometheus.yml"))
		fmt.Fprintf(out, "  firing alerts    %s/alerts\n", s.PromURL)
	} else {
		fmt.Fprintln(out, "  Prometheus       not started (apt-get install prometheus): no alerts")
	}
	if s.AlertmanagerURL != "" {
		fmt.Fprintf(out, "  Alertmanager     %s/#/alerts (receiver: deploy/alertmanager.yml)\n", s.AlertmanagerURL)
	} else if s.PromURL != "" {
		fmt.Fprintln(out, "  Alertmanager     not started (apt-get install prometheus-alertmanager): alerts only on Prometheus' /alerts")
	}
	fmt.Fprintf(out, "  MongoDB          mongodb://%s/ (database prediction_service)\n", o.MongoAddr)
	fmt.Fprintf(out, "  reports          %s\n", filepath.Join(o.DataDir, "reports"))
}

// demoMonths lists the months to replay.
func demoMonths(o Options) ([]string, error) {
	if !o.AllMonths {
		return strings.Split(o.Months, ","), nil
	}
	files, err := filepath.Glob("data/green_tripdata_*.parquet")
	if err != nil {
		return nil, fmt.Errorf("list data: %w", err)
	}
	sort.Strings(files)
	var months []string
	for _, f := range files {
		if f == o.Reference {
			continue
		}
		m := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "green_tripdata_"), ".parquet")
		months = append(months, m)
	}
	return months, nil
}

// demo replays each month, uploads its targets and runs one batch per month window.
func demo(ctx context.Context, o Options, out io.Writer, c client.Client, db *mongo.Database, onlineURL string, cfg batch.Config, log *slog.Logger) error {
	months, err := demoMonths(o)
	if err != nil {
		return err
	}
	var prevEnd time.Time
	for _, month := range months {
		month = strings.TrimSpace(month)
		file := filepath.Join("data", "green_tripdata_"+month+".parquet")
		trips, err := taxi.ReadFile(ctx, file)
		if err != nil {
			return err
		}
		trips = spread(trips, o.ReplayLimit)
		targets := filepath.Join(o.DataDir, "target-"+month+".csv")
		_ = os.Remove(targets)
		fmt.Fprintf(out, "\n== %s: replaying %d rides to %s/predict\n", month, len(trips), onlineURL)
		// The window of this month's records (received_at is stamped by the service):
		// from the end of the previous month's window, or now, to after the last ride.
		start := time.Now().UTC().Truncate(time.Second)
		if !prevEnd.IsZero() {
			start = prevEnd
		}
		res, err := replay.Run(ctx, replay.Options{
			Trips: trips, URL: onlineURL, Rate: o.ReplayRate, Concurrency: o.Concurrency,
			TargetsPath: targets, Retries: 5,
		})
		if err != nil {
			return fmt.Errorf("replay %s: %w", month, err)
		}
		fmt.Fprintf(out, "   sent=%d ok=%d failed=%d p50=%s p99=%s\n", res.Sent, res.OK, res.Failed, res.P50, res.P99)
		end := time.Now().UTC().Add(time.Second).Truncate(time.Second)
		tg, err := batch.ReadTargetsFile(targets)
		if err != nil {
			return err
		}
		up, err := batch.UploadTargets(ctx, db.Collection(mongodb.CollectionTarget), mongodb.FieldTargetDuration, tg, 1000, nil)
		if err != nil {
			return fmt.Errorf("upload targets: %w", err)
		}
		fmt.Fprintf(out, "   targets uploaded: %+v\n", up)
		// Wait until the window is in the past for the workflow's clock.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(end)):
		}
		prevEnd = end
		w := batch.Window{Start: start, End: end}
		// The window closes behind a watermark (workflows: allowed lateness): the
		// online service runs on this host with the default write timeout, so its
		// bound plus 2 s is enough (the default 30 s allows for skew between hosts).
		in := workflows.Input{Dataset: "taxi", WindowStart: start.Format(time.RFC3339), WindowEnd: end.Format(time.RFC3339), Reference: o.Reference,
			AllowedLateness: (store.DefaultWriteTimeout + 2*time.Second).String()}
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: batch.WorkflowID("taxi", w), TaskQueue: cfg.TaskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		}, workflows.WorkflowType, in)
		if err != nil {
			return fmt.Errorf("start batch run: %w", err)
		}
		var r workflows.Result
		if err := run.Get(ctx, &r); err != nil {
			return fmt.Errorf("batch run %s: %w", run.GetID(), err)
		}
		fmt.Fprintf(out, "   batch run %s: status=%s rows=%d targets=%d\n", run.GetID(), r.Status, r.Rows.Current, r.Rows.TargetsMatched)
		if s := r.Summary; s != nil {
			rmse := "n/a"
			if s.RMSE != nil {
				rmse = fmt.Sprintf("%.3f", *s.RMSE)
			}
			fmt.Fprintf(out, "   dataset_drift=%t drifted_columns=%d (share %.2f) rmse=%s\n", s.DatasetDrift, s.DriftedColumns, s.ShareDrifted, rmse)
		}
		if r.HTMLPath != "" {
			fmt.Fprintf(out, "   report: %s\n", r.HTMLPath)
		}
	}
	return nil
}

// startMonitoring starts Alertmanager and Prometheus when their binaries are on
// PATH. Prometheus runs deploy/prometheus.yml.tmpl rendered with the stack's
// addresses (deploy.PrometheusConfig: the configuration that ships) and the
// embedded deploy/alerts.yml.
func (s *Stack) startMonitoring(ctx context.Context) error {
	o, log := s.o, s.log
	if o.PrometheusAddr == "" {
		return nil
	}
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		log.Info("prometheus not on PATH: not started (apt-get install prometheus)")
		return nil
	}
	if err := portFree(o.PrometheusAddr); err != nil {
		return err
	}
	if o.AlertmanagerAddr != "" {
		amBin, err := lookPath("prometheus-alertmanager", "alertmanager")
		if err != nil {
			log.Info("prometheus-alertmanager not on PATH: not started (apt-get install prometheus-alertmanager)")
		} else {
			if err := portFree(o.AlertmanagerAddr); err != nil {
				return err
			}
			dir, err := stateDir(o.DataDir, "alertmanager")
			if err != nil {
				return err
			}
			cfg := filepath.Join(dir, "alertmanager.yml")
			if err := os.WriteFile(cfg, deploy.AlertmanagerConfig(), 0o644); err != nil {
				return fmt.Errorf("alertmanager config: %w", err)
			}
			stop, err := startProcess(log, "Alertmanager", dir, amBin,
				"--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
				"--web.listen-address="+o.AlertmanagerAddr, "--cluster.listen-address=")
			if err != nil {
				return err
			}
			s.stops = append(s.stops, stop)
			s.AlertmanagerURL = "http://" + o.AlertmanagerAddr
		}
	}
	dir, err := stateDir(o.DataDir, "prometheus")
	if err != nil {
		return err
	}
	rules := deploy.AlertRules()
	if o.ruleTimeDivisor > 1 {
		if rules, err = deploy.ScaleRuleDurations(rules, o.ruleTimeDivisor); err != nil {
			return err
		}
	}
	rulesPath := filepath.Join(dir, "alerts.yml")
	if err := os.WriteFile(rulesPath, rules, 0o644); err != nil {
		return fmt.Errorf("alert rules: %w", err)
	}
	cfg, err := deploy.PrometheusConfig(deploy.Targets{
		Deployment: "devstack (written at each start)", Self: filepath.Join(dir, "prometheus.yml"),
		Online: strings.TrimPrefix(s.OnlineURL, "http://"), Worker: strings.TrimPrefix(s.WorkerMetricsURL, "http://"),
		Prometheus: o.PrometheusAddr, Alertmanager: strings.TrimPrefix(s.AlertmanagerURL, "http://"),
		RuleFile: rulesPath, Interval: o.PrometheusInterval,
	})
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		return fmt.Errorf("prometheus config: %w", err)
	}
	stop, err := startProcess(log, "Prometheus", dir, promBin, "--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+o.PrometheusAddr)
	if err != nil {
		return err
	}
	s.stops = append(s.stops, stop)
	s.PromURL = "http://" + o.PrometheusAddr
	return nil
}

func lookPath(names ...string) (string, error) {
	var err error
	for _, n := range names {
		var p string
		if p, err = exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", err
}

func stateDir(dataDir, name string) (string, error) {
	dir, err := filepath.Abs(filepath.Join(dataDir, name))
	if err != nil {
		return "", fmt.Errorf("%s dir: %w", name, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return "", fmt.Errorf("%s dir: %w", name, err)
	}
	return dir, nil
}

// startProcess starts bin with its output in dir/<bin>.log; the returned func
// stops it (SIGTERM, then SIGKILL after 10 s) and waits.
func startProcess(log *slog.Logger, name, dir, bin string, args ...string) (func(), error) {
	logf, err := os.Create(filepath.Join(dir, filepath.Base(bin)+".log"))
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	log.Info(name+" started", "pid", cmd.Process.Pid, "log", logf.Name())
	return func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
	}, nil
}

// spread keeps limit trips evenly spaced over the month (the files are ordered by
// pickup, so a prefix would be the first days only); limit <= 0 keeps all.
func spread(trips []taxi.Trip, limit int) []taxi.Trip {
	if limit <= 0 || limit >= len(trips) {
		return trips
	}
	out := make([]taxi.Trip, limit)
	for i := range out {
		out[i] = trips[i*len(trips)/limit]
	}
	return out
}

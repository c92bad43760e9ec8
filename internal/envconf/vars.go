package envconf

// Command names, for Var.Commands.
const (
	Online   = "online"
	Worker   = "worker"
	Starter  = "starter"
	Devstack = "devstack"
)

// Shared names that are not settings but must be spelled once.
const (
	// TaskQueue is the default task queue of the batch-monitoring worker.
	TaskQueue = "batch-monitoring"
	// ModelPath is the default model artifact.
	ModelPath = "models/duration_model.json"
	// EstimatorPath is the default performance-estimator artifact.
	EstimatorPath = "models/duration_estimator.json"
)

// The settings. The flag of every Var is its variable in lower case with dashes
// (MONGODB_ADDRESS is --mongodb-address everywhere); a test checks it.
var (
	MongoDBAddress = &Var{Env: "MONGODB_ADDRESS", Flag: "mongodb-address", Default: "mongodb://127.0.0.1:27017",
		Usage: "MongoDB URI of the prediction log (credentials only in the URI; never logged)", Commands: []string{Online, Worker, Starter}}
	MongoDBDatabase = &Var{Env: "MONGODB_DATABASE", Flag: "mongodb-database", Default: "prediction_service",
		Usage: "MongoDB database of the prediction log, targets and results (the online service always logs to prediction_service)", Commands: []string{Worker, Starter}}
	ModelPathVar = &Var{Env: "MODEL_PATH", Flag: "model-path", Default: ModelPath,
		Usage: "model artifact (scores requests online and the reference in the batch)", Commands: []string{Online, Worker, Starter, Devstack}}
	EstimatorPathVar = &Var{Env: "ESTIMATOR_PATH", Flag: "estimator-path", Default: EstimatorPath,
		Usage: "performance-estimator artifact of the model: batch reports also carry the RMSE, MAE and ME estimated without targets (empty: none; the default missing: none, with a warning)", Commands: []string{Worker}}
	PartitionSlots = &Var{Env: "PARTITION_SLOTS", Flag: "partition-slots", Default: "1",
		Usage: "ProfilePartition activities one worker runs at once (they come from the task queue TASK_QUEUE + \"-partitions\"); each holds up to partition_rows rows, so this bounds the worker's memory and spreads a run's partitions over the workers", Commands: []string{Worker}}
	TemporalAddress = &Var{Env: "TEMPORAL_ADDRESS", Flag: "temporal-address", Default: "127.0.0.1:7233",
		Usage: "Temporal frontend host:port", Commands: []string{Worker, Starter}}
	TemporalNamespace = &Var{Env: "TEMPORAL_NAMESPACE", Flag: "temporal-namespace", Default: "default",
		Usage: "Temporal namespace", Commands: []string{Worker, Starter}}
	TaskQueueVar = &Var{Env: "TASK_QUEUE", Flag: "task-queue", Default: TaskQueue,
		Usage: "Temporal task queue of the batch-monitoring worker", Commands: []string{Worker, Starter}}
	ReportsDir = &Var{Env: "REPORTS_DIR", Flag: "reports-dir", Default: "./reports",
		Usage: "directory of the HTML reports (shared storage when workers run on several hosts)", Commands: []string{Worker}}
	DataDir = &Var{Env: "DATA_DIR", Flag: "data-dir", Default: ".",
		Usage: "directory that relative reference and target paths are resolved against", Commands: []string{Worker}}
	MetricsAddr = &Var{Env: "METRICS_ADDR", Flag: "metrics-addr", Default: "127.0.0.1:9697",
		Usage: "listen address of the worker's /metrics with the batch results (empty: none)", Commands: []string{Worker, Devstack}}
	OnlineAddr = &Var{Env: "ONLINE_ADDR", Flag: "online-addr", Default: "127.0.0.1:9696",
		Usage: "HTTP listen address of the online service", Commands: []string{Online, Devstack}}
	MonitorConfig = &Var{Env: "MONITOR_CONFIG", Flag: "monitor-config", Default: "config.yaml",
		Usage: "live-monitoring config (datasets, window, reference); empty: no live monitoring", Commands: []string{Online, Devstack}}
	LogBatchSize = &Var{Env: "LOG_BATCH_SIZE", Flag: "log-batch-size", Default: "512",
		Usage: "most prediction records in one InsertMany", Commands: []string{Online}}
	LogBatchDelay = &Var{Env: "LOG_BATCH_DELAY", Flag: "log-batch-delay", Default: "0s",
		Usage: "longest a batch waits for more records after its first (0: none; batches also grow under load by themselves)", Commands: []string{Online}}
	LogSpoolBatchDelay = &Var{Env: "LOG_SPOOL_BATCH_DELAY", Flag: "log-spool-batch-delay", Default: "200µs",
		Usage: "the same for batches written to the spool (an fsync each: a short wait merges the requests that follow; 0: none)", Commands: []string{Online}}
	LogQueueSize = &Var{Env: "LOG_QUEUE_SIZE", Flag: "log-queue-size", Default: "8192",
		Usage: "records that may wait for the database; beyond it /predict answers 503", Commands: []string{Online, Devstack}}
	LogWriters = &Var{Env: "LOG_WRITERS", Flag: "log-writers", Default: "1",
		Usage: "InsertMany calls in flight at once", Commands: []string{Online}}
	LogWriteTimeout = &Var{Env: "LOG_WRITE_TIMEOUT", Flag: "log-write-timeout", Default: "10s",
		Usage: "bound on one InsertMany", Commands: []string{Online}}
	RequestTimeout = &Var{Env: "REQUEST_TIMEOUT", Flag: "request-timeout", Default: "5s",
		Usage: "bound on one request, database acknowledgement included", Commands: []string{Online}}
	ShutdownTimeout = &Var{Env: "SHUTDOWN_TIMEOUT", Flag: "shutdown-timeout", Default: "15s",
		Usage: "bound on the graceful stop (in-flight requests and the log flush)", Commands: []string{Online}}
	SpoolDir = &Var{Env: "SPOOL_DIR", Flag: "spool-dir", Default: "var/spool",
		Usage: "directory of the on-disk spool that keeps predictions while the database is down (empty: no spool, 503 instead)", Commands: []string{Online}}
	SpoolMaxBytes = &Var{Env: "SPOOL_MAX_BYTES", Flag: "spool-max-bytes", Default: "1073741824",
		Usage: "bound on the spool; when full /predict answers 503", Commands: []string{Online}}
	MaxConcurrent = &Var{Env: "MAX_CONCURRENT", Flag: "max-concurrent", Default: "1024",
		Usage: "requests handled at once; beyond it 503 with Retry-After (negative: no cap)", Commands: []string{Online}}
	ReadHeaderTimeout = &Var{Env: "READ_HEADER_TIMEOUT", Flag: "read-header-timeout", Default: "5s",
		Usage: "bound on reading a request's headers (slow clients are disconnected)", Commands: []string{Online}}
	IdleTimeout = &Var{Env: "IDLE_TIMEOUT", Flag: "idle-timeout", Default: "2m0s",
		Usage: "keep-alive connections idle longer are closed", Commands: []string{Online}}
	IterateMaxRecords = &Var{Env: "ITERATE_MAX_RECORDS", Flag: "iterate-max-records", Default: "0",
		Usage: "most records in one POST /iterate body; more: 413 (0: the monitoring config's service.iterate_max_records, default 20000)", Commands: []string{Online}}
	IngestToken = &Var{Env: "INGEST_TOKEN", Flag: "ingest-token", Default: "",
		Usage: "when set, /iterate/* and /monitor/* require 'Authorization: Bearer <token>' (prefer the variable: flags show in ps)", Commands: []string{Online}}
	LogLevel = &Var{Env: "LOG_LEVEL", Flag: "log-level", Default: "info",
		Usage: "log level: debug, info, warn or error", Commands: []string{Online, Worker}}
	LogFormat = &Var{Env: "LOG_FORMAT", Flag: "log-format", Default: "text",
		Usage: "log format: text or json", Commands: []string{Online, Worker}}
	PprofAddr = &Var{Env: "PPROF_ADDR", Flag: "pprof-addr", Default: "",
		Usage: "serve net/http/pprof on this address (off when empty)", Commands: []string{Online}}
)

// All is the table, in the README's order.
var All = []*Var{
	MongoDBAddress, MongoDBDatabase, ModelPathVar, EstimatorPathVar, PartitionSlots, TemporalAddress, TemporalNamespace, TaskQueueVar,
	ReportsDir, DataDir, MetricsAddr, OnlineAddr, MonitorConfig,
	LogBatchSize, LogBatchDelay, LogSpoolBatchDelay, LogQueueSize, LogWriters, LogWriteTimeout,
	RequestTimeout, ShutdownTimeout, SpoolDir, SpoolMaxBytes, MaxConcurrent,
	ReadHeaderTimeout, IdleTimeout, IterateMaxRecords, IngestToken, LogLevel, LogFormat, PprofAddr,
}

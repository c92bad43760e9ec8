package batch

import (
	"flag"

	"github.com/modelmon/modelmon/internal/envconf"
)

// Config is what the worker and the starter need to reach Temporal and MongoDB and to
// find the model, the data and where reports go. Each field has an environment
// variable and a flag of the same meaning; a flag wins over the environment.
type Config struct {
	TemporalAddress string // TEMPORAL_ADDRESS, --temporal-address
	Namespace       string // TEMPORAL_NAMESPACE, --temporal-namespace
	TaskQueue       string // TASK_QUEUE, --task-queue
	MongoURI        string // MONGODB_ADDRESS, --mongodb-address
	Database        string // MONGODB_DATABASE, --mongodb-database
	ModelPath       string // MODEL_PATH, --model-path
	EstimatorPath   string // ESTIMATOR_PATH, --estimator-path
	PartitionSlots  int    // PARTITION_SLOTS, --partition-slots
	ReportsDir      string // REPORTS_DIR, --reports-dir
	DataDir         string // DATA_DIR, --data-dir
}

// Bind binds the settings of c onto b (the envconf table): the connection settings
// always, and with worker also the model, reports and data directories.
func (c *Config) Bind(b *envconf.Binder, worker bool) {
	b.String(&c.TemporalAddress, envconf.TemporalAddress)
	b.String(&c.Namespace, envconf.TemporalNamespace)
	b.String(&c.TaskQueue, envconf.TaskQueueVar)
	b.String(&c.MongoURI, envconf.MongoDBAddress)
	b.String(&c.Database, envconf.MongoDBDatabase)
	if worker {
		b.String(&c.ModelPath, envconf.ModelPathVar)
		b.String(&c.EstimatorPath, envconf.EstimatorPathVar)
		b.Int(&c.PartitionSlots, envconf.PartitionSlots)
		b.String(&c.ReportsDir, envconf.ReportsDir)
		b.String(&c.DataDir, envconf.DataDir)
	}
}

// ConfigFromGetenv is the Config that getenv (os.Getenv, or a test's map) and the
// envconf defaults give, without flags.
func ConfigFromGetenv(getenv func(string) string) (Config, error) {
	var c Config
	b := envconf.NewBinder(flag.NewFlagSet("env", flag.ContinueOnError), getenv)
	c.Bind(b, true)
	return c, b.Err()
}

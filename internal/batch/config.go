package batch

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/modelmon/modelmon/internal/mongodb"
)

// Defaults of Config.
const (
	DefaultTemporalAddress = "127.0.0.1:7233"
	DefaultNamespace       = "default"
	DefaultTaskQueue       = "batch-monitoring"
	DefaultMongoURI        = "mongodb://127.0.0.1:27017"
	DefaultModelPath       = "models/duration_model.json"
	DefaultReportsDir      = "./reports"
	DefaultDataDir         = "."
)

// Config is what the worker and the starter need to reach Temporal and MongoDB and to
// find the model, the data and where reports go. Each field has an environment
// variable and a flag of the same meaning; a flag wins over the environment.
type Config struct {
	TemporalAddress string // TEMPORAL_ADDRESS, --temporal-address
	Namespace       string // TEMPORAL_NAMESPACE, --namespace
	TaskQueue       string // TASK_QUEUE, --task-queue
	MongoURI        string // MONGODB_ADDRESS, --mongodb-address
	Database        string // MONGODB_DATABASE, --mongodb-database
	ModelPath       string // MODEL_PATH, --model
	ReportsDir      string // REPORTS_DIR, --reports-dir
	DataDir         string // DATA_DIR, --data-dir
}

// EnvVar describes one setting for --help.
type EnvVar struct {
	Env, Flag, Default, Usage string
	field                     func(*Config) *string
}

// Settings lists every setting of Config with its variable, flag and default.
var Settings = []EnvVar{
	{"TEMPORAL_ADDRESS", "temporal-address", DefaultTemporalAddress, "Temporal frontend host:port", func(c *Config) *string { return &c.TemporalAddress }},
	{"TEMPORAL_NAMESPACE", "namespace", DefaultNamespace, "Temporal namespace", func(c *Config) *string { return &c.Namespace }},
	{"TASK_QUEUE", "task-queue", DefaultTaskQueue, "Temporal task queue of the batch-monitoring worker", func(c *Config) *string { return &c.TaskQueue }},
	{"MONGODB_ADDRESS", "mongodb-address", DefaultMongoURI, "MongoDB URI of the prediction log", func(c *Config) *string { return &c.MongoURI }},
	{"MONGODB_DATABASE", "mongodb-database", mongodb.Database, "MongoDB database of the prediction log", func(c *Config) *string { return &c.Database }},
	{"MODEL_PATH", "model", DefaultModelPath, "model artifact that scores the reference", func(c *Config) *string { return &c.ModelPath }},
	{"REPORTS_DIR", "reports-dir", DefaultReportsDir, "directory of the HTML reports (shared storage when workers run on several hosts)", func(c *Config) *string { return &c.ReportsDir }},
	{"DATA_DIR", "data-dir", DefaultDataDir, "directory that relative reference and target paths are resolved against", func(c *Config) *string { return &c.DataDir }},
}

// ConfigFromEnv reads Config from the environment, with the defaults for unset variables.
func ConfigFromEnv() Config {
	return configFromLookup(os.LookupEnv)
}

// ConfigFromGetenv is ConfigFromEnv with the environment read through getenv
// (os.Getenv, or a test's map).
func ConfigFromGetenv(getenv func(string) string) Config {
	return configFromLookup(func(k string) (string, bool) { v := getenv(k); return v, v != "" })
}

func configFromLookup(lookup func(string) (string, bool)) Config {
	var c Config
	for _, s := range Settings {
		v, ok := lookup(s.Env)
		if !ok || strings.TrimSpace(v) == "" {
			v = s.Default
		}
		*s.field(&c) = v
	}
	return c
}

// RegisterFlags adds one flag per setting to fs, defaulting to the current values of
// c (typically ConfigFromEnv), so that flags override the environment.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	for _, s := range Settings {
		p := s.field(c)
		fs.StringVar(p, s.Flag, *p, fmt.Sprintf("%s (env %s)", s.Usage, s.Env))
	}
}

// PrintSettings writes the environment variables and flags, for --help.
func PrintSettings(w io.Writer) {
	fmt.Fprintln(w, "Environment (each also a flag; a flag wins):")
	for _, s := range Settings {
		fmt.Fprintf(w, "  %-19s --%-17s %s (default %q)\n", s.Env, s.Flag, s.Usage, s.Default)
	}
}

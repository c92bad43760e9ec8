// Package batchworker assembles a running batch-monitoring worker from a
// batch.Config: MongoDB client, model, activities, Temporal worker. It is the one
// place that puts the workflow (package workflows) and the activities (package
// activities) on one worker: `go run ./worker` is a thin main over it, and the
// one-command dev stack and the end-to-end tests run it in-process.
package batchworker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/modelmon/modelmon/activities"
	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/envconf"
	"github.com/modelmon/modelmon/internal/estimate"
	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/workflows"
)

// Options tune Start beyond the Config.
type Options struct {
	// Logger receives the setup's logs (nil: slog.Default()).
	Logger *slog.Logger
	// Worker are the Temporal worker options.
	Worker worker.Options
	// Activities, if set, is used as is (Config's MongoDB and model are then ignored).
	Activities *activities.Activities
	// SkipIndexes skips batch.EnsureIndexes.
	SkipIndexes bool
}

// Worker is a started batch worker.
type Worker struct {
	Worker worker.Worker
	// Partitions polls the partition queue (workflows.PartitionTaskQueue) with
	// at most Config.PartitionSlots activities at once.
	Partitions worker.Worker
	Activities *activities.Activities
	mongo      *mongo.Client
}

// loadEstimator loads the performance estimator of ESTIMATOR_PATH bound to the model:
// none when the path is empty, or when it is the default and the file is absent (a
// warning); any other failure (a missing explicit file, an estimator trained for
// another model version) is an error.
func loadEstimator(path string, m *model.Model, logger *slog.Logger) (*estimate.Estimator, error) {
	if path == "" {
		return nil, nil
	}
	est, err := estimate.Load(path, m)
	if err != nil {
		if path == envconf.EstimatorPath && errors.Is(err, fs.ErrNotExist) {
			logger.Warn("no performance estimator: batch reports carry no estimate (make one with starter train-estimator, or set ESTIMATOR_PATH)", "path", path)
			return nil, nil
		}
		return nil, fmt.Errorf("load estimator (ESTIMATOR_PATH=%s): %w", path, err)
	}
	logger.Info("performance estimator loaded", "path", path, "estimator_version", est.Version, "model_version", est.ModelVersion)
	return est, nil
}

// Start connects to MongoDB, loads the model, ensures the batch's indexes and starts
// a worker of the BatchMonitoring workflow and its activities on cfg.TaskQueue, using
// the Temporal client c (which stays the caller's).
func Start(ctx context.Context, c client.Client, cfg batch.Config, o Options) (*Worker, error) {
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	w := &Worker{Activities: o.Activities}
	if w.Activities == nil {
		m, err := model.Load(cfg.ModelPath)
		if err != nil {
			return nil, fmt.Errorf("load model (MODEL_PATH=%s): %w", cfg.ModelPath, err)
		}
		est, err := loadEstimator(cfg.EstimatorPath, m, logger)
		if err != nil {
			return nil, err
		}
		mc, err := mongodb.Open(ctx, cfg.MongoURI)
		if err != nil {
			return nil, err
		}
		w.mongo = mc
		dbName := cfg.Database
		if dbName == "" {
			dbName = mongodb.Database
		}
		w.Activities = &activities.Activities{
			DB:         mc.Database(dbName),
			Model:      m,
			Estimator:  est,
			ReportsDir: cfg.ReportsDir,
			DataDir:    cfg.DataDir,
		}
	}
	if err := activities.CheckDeps(w.Activities); err != nil {
		w.close(ctx)
		return nil, err
	}
	if err := os.MkdirAll(w.Activities.ReportsDir, 0o755); err != nil {
		w.close(ctx)
		return nil, fmt.Errorf("REPORTS_DIR: %w", err)
	}
	if !o.SkipIndexes {
		for _, name := range batch.Names() {
			ds, _ := batch.Lookup(name)
			if err := batch.EnsureIndexes(ctx, w.Activities.DB, ds); err != nil {
				logger.Warn("batch indexes not all created (fine on FerretDB)", "dataset", name, "error", err)
			}
		}
	}
	queue := cmp.Or(cfg.TaskQueue, workflows.TaskQueue)
	slots := cmp.Or(cfg.PartitionSlots, 1)
	if slots < 1 {
		w.close(ctx)
		return nil, fmt.Errorf("PARTITION_SLOTS = %d: want >= 1", slots)
	}
	po := o.Worker
	po.MaxConcurrentActivityExecutionSize = slots
	w.Partitions = worker.New(c, workflows.PartitionTaskQueue(queue), po)
	w.Partitions.RegisterActivity(w.Activities)
	if err := w.Partitions.Start(); err != nil {
		w.close(ctx)
		return nil, fmt.Errorf("start worker on %s: %w", workflows.PartitionTaskQueue(queue), err)
	}
	w.Worker = NewWorker(c, queue, w.Activities, o.Worker)
	if err := w.Worker.Start(); err != nil {
		w.Partitions.Stop()
		w.close(ctx)
		return nil, fmt.Errorf("start worker on %s: %w", queue, err)
	}
	logger.Info("batch worker started", "task_queue", queue, "partition_task_queue", workflows.PartitionTaskQueue(queue),
		"partition_slots", slots, "model_version", w.Activities.Model.Version,
		"reports_dir", w.Activities.ReportsDir, "data_dir", w.Activities.DataDir)
	return w, nil
}

// Register registers the BatchMonitoring workflow and the activities of a on r.
func Register(r worker.Registry, a *activities.Activities) {
	workflows.Register(r)
	r.RegisterActivity(a)
}

// NewWorker creates (does not start) a worker of the batch on taskQueue (empty:
// workflows.TaskQueue) with the workflow and a's activities registered.
func NewWorker(c client.Client, taskQueue string, a *activities.Activities, opts worker.Options) worker.Worker {
	if taskQueue == "" {
		taskQueue = workflows.TaskQueue
	}
	w := worker.New(c, taskQueue, opts)
	Register(w, a)
	return w
}

// Stop stops the worker (running activities get their context cancelled) and closes
// the MongoDB client it opened.
func (w *Worker) Stop(ctx context.Context) {
	if w.Worker != nil {
		w.Worker.Stop()
	}
	if w.Partitions != nil {
		w.Partitions.Stop()
	}
	w.close(ctx)
}

func (w *Worker) close(ctx context.Context) {
	if w.mongo != nil {
		_ = w.mongo.Disconnect(context.WithoutCancel(ctx))
		w.mongo = nil
	}
}

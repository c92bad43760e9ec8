package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/estimate"
	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/report"
)

// DefaultChunkRows is the number of rows of one staging chunk.
const DefaultChunkRows = 10_000

// Activities holds what the activities need. The worker registers one filled value;
// the workflow calls its methods through a nil *Activities.
type Activities struct {
	// DB is the prediction log's database (mongodb.Database).
	DB *mongo.Database
	// Model scores the reference.
	Model *model.Model
	// Estimator (optional) estimates the model's performance without targets: each
	// report then carries performance_estimate next to the realized metrics.
	Estimator *estimate.Estimator
	// ReportsDir receives the HTML reports (created if missing).
	ReportsDir string
	// DataDir is what relative reference and target paths are resolved against.
	DataDir string
	// ChunkRows is the number of rows per staging chunk (0: DefaultChunkRows).
	ChunkRows int
	// TargetLookup chooses how JoinTarget reads the target collection: "scan" (one
	// pass over the collection, keeping the ids of the window; the default, and the
	// only fast way on FerretDB) or "in" (an _id $in query per chunk: better with
	// real MongoDB when the collection is far larger than a window).
	TargetLookup string
	// Compute and Render default to report.Compute and reporthtml.Render.
	// Compute is the single-pass path's; MergeProfiles computes from the
	// merged profile's counts (profile.Report).
	Compute func(ctx context.Context, ref, cur *report.Dataset, cfg report.Config) (*report.Report, error)
	Render  func(w io.Writer, r *report.Report, meta report.Meta, trend []report.TrendPoint) error
	// Hostname is recorded with the HTML path (default os.Hostname).
	Hostname string
}

func (a *Activities) chunkRows() int {
	if a.ChunkRows > 0 {
		return a.ChunkRows
	}
	return DefaultChunkRows
}

func (a *Activities) staging() batch.Staging { return batch.NewStaging(a.DB) }
func (a *Activities) results() batch.Results { return batch.NewResults(a.DB) }

func (a *Activities) compute() func(ctx context.Context, ref, cur *report.Dataset, cfg report.Config) (*report.Report, error) {
	if a.Compute != nil {
		return a.Compute
	}
	return defaultCompute
}

func (a *Activities) render() func(w io.Writer, r *report.Report, meta report.Meta, trend []report.TrendPoint) error {
	if a.Render != nil {
		return a.Render
	}
	return defaultRender
}

func (a *Activities) hostname() string {
	if a.Hostname != "" {
		return a.Hostname
	}
	h, _ := os.Hostname()
	return h
}

// CheckDeps reports missing or invalid dependencies of a; the worker calls it before
// it starts. (A function, not a method: every exported method of Activities is
// registered as an activity.)
func CheckDeps(a *Activities) error {
	var errs []error
	if a.DB == nil {
		errs = append(errs, errors.New("activities: DB is nil"))
	}
	if a.Model == nil {
		errs = append(errs, errors.New("activities: Model is nil"))
	}
	if a.ReportsDir == "" {
		errs = append(errs, errors.New("activities: ReportsDir is empty"))
	}
	switch a.TargetLookup {
	case "", "scan", "in":
	default:
		errs = append(errs, fmt.Errorf("activities: TargetLookup %q is not scan or in", a.TargetLookup))
	}
	return errors.Join(errs...)
}

// badInput is a non-retryable error whose message tells a person what to fix.
func badInput(cause error, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), batchapi.ErrBadInput, cause)
}

// dataset looks the dataset up; an unknown one is bad input.
func dataset(name string) (batch.Dataset, error) {
	ds, err := batch.Lookup(name)
	if err != nil {
		return ds, badInput(err, "%v (start the run with one of these, or deploy a worker that registers %q)", err, name)
	}
	return ds, nil
}

// segmenters builds the dataset's segmenters, lookup files resolved against
// DataDir; a missing or malformed lookup file is a configuration error no retry fixes.
func (a *Activities) segmenters(ds *batch.Dataset) ([]*report.Segmenter, error) {
	segs, err := ds.Segmenters(a.DataDir)
	if err != nil {
		return nil, badInput(err, "%v (segment lookup paths are resolved against DATA_DIR=%q)", err, a.DataDir)
	}
	return segs, nil
}

// stagingErr turns a lost-staging error into a non-retryable one.
func stagingErr(err error) error {
	if errors.Is(err, batch.ErrStageIncomplete) || errors.Is(err, batch.ErrCorruptChunk) {
		return temporal.NewNonRetryableApplicationError(err.Error()+" (start the run of this window again)", batchapi.ErrStagingLost, err)
	}
	return err
}

// heartbeat records an activity's progress: at once on progress, and every third of
// the heartbeat timeout in between, so that a long blocking database call does not
// look like a dead worker (a dead worker stops heartbeating altogether).
type heartbeat struct {
	ctx     context.Context
	mu      sync.Mutex
	details any
	stopped chan struct{}
	wg      sync.WaitGroup
}

func startHeartbeat(ctx context.Context, details any) *heartbeat {
	h := &heartbeat{ctx: ctx, details: details, stopped: make(chan struct{})}
	every := activity.GetInfo(ctx).HeartbeatTimeout / 3
	if every <= 0 {
		every = 5 * time.Second
	}
	every = max(every, 100*time.Millisecond)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-h.stopped:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				h.mu.Lock()
				activity.RecordHeartbeat(ctx, h.details)
				h.mu.Unlock()
			}
		}
	}()
	return h
}

// progress records new details now.
func (h *heartbeat) progress(details any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.details = details
	activity.RecordHeartbeat(h.ctx, details)
}

func (h *heartbeat) stop() {
	close(h.stopped)
	h.wg.Wait()
}

// resume loads the details of the last heartbeat of an earlier attempt into p; it
// reports whether there were any.
func resume(ctx context.Context, p any) bool {
	if !activity.HasHeartbeatDetails(ctx) {
		return false
	}
	if err := activity.GetHeartbeatDetails(ctx, p); err != nil {
		activity.GetLogger(ctx).Warn("ignoring unreadable heartbeat details", "error", err)
		return false
	}
	return true
}

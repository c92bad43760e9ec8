// Package batchmetrics exports the batch results stored in prediction_service.report as Prometheus metrics on the worker's /metrics, for the "batch results over time" dashboard and alerts.
package batchmetrics

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/mongodb"
)

// Collector reads the result documents at most once per MinInterval (scrapes in
// between get the cached values), so a scrape never scans the collection more often
// than that.
type Collector struct {
	coll        *mongo.Collection
	windows     *mongo.Collection
	log         *slog.Logger
	MinInterval time.Duration
	// LostAfter is how long a claimed ledger window may stay without a result
	// before it counts as status "lost" (its run was terminated, or could not
	// record its failure); before that it counts as "claimed" (running).
	LostAfter time.Duration

	mu      sync.Mutex
	fetched time.Time
	last    map[string]*batch.ResultDoc // latest completed run per dataset
	runs    map[[2]string]float64       // (dataset, status) -> documents
	errs    float64

	rmse, share, drift, windowEnd, rows, windowsDesc, scrapeErrs *prometheus.Desc
}

// DefaultLostAfter is Collector.LostAfter: longer than a scheduled run may take
// (batchsched.DefaultRunTimeout, 6 h).
const DefaultLostAfter = 7 * time.Hour

// Statuses of claimed ledger windows without a result document.
const (
	StatusClaimed = "claimed"
	StatusLost    = "lost"
)

// New returns a collector over db's report collection.
func New(db *mongo.Database, log *slog.Logger) *Collector {
	if log == nil {
		log = slog.Default()
	}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("modelmon_batch_"+name, help, labels, nil)
	}
	return &Collector{
		coll: db.Collection(mongodb.CollectionReport), windows: db.Collection(mongodb.CollectionWindows), log: log,
		MinInterval: 10 * time.Second, LostAfter: DefaultLostAfter,
		rmse:        d("last_rmse", "RMSE (minutes) of the latest completed batch run with targets.", "dataset"),
		share:       d("last_share_drifted_columns", "Share of drifted columns in the latest completed batch run.", "dataset"),
		drift:       d("last_dataset_drift", "1 if the latest completed batch run found dataset drift.", "dataset"),
		windowEnd:   d("last_window_end_timestamp_seconds", "End of the window of the latest completed batch run.", "dataset"),
		rows:        d("last_current_rows", "Logged predictions in the window of the latest completed batch run.", "dataset"),
		windowsDesc: d("windows", "Windows of the dataset with a result in the report collection, by the status of that result (a re-run replaces the result of its window, so a failed window that is re-run moves to completed); claimed ledger windows without a result count as claimed, or lost after LostAfter.", "dataset", "status"),
		scrapeErrs:  d("metrics_read_errors_total", "Failed reads of the report collection for these metrics."),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.rmse, c.share, c.drift, c.windowEnd, c.rows, c.windowsDesc, c.scrapeErrs} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.fetched) >= c.MinInterval {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := c.refresh(ctx); err != nil {
			c.errs++
			c.log.Warn("batch metrics: read report collection", "error", err)
		}
		cancel()
		c.fetched = time.Now()
	}
	for ds, d := range c.last {
		if d.Summary == nil {
			continue
		}
		s := d.Summary
		if s.RMSE != nil {
			ch <- prometheus.MustNewConstMetric(c.rmse, prometheus.GaugeValue, *s.RMSE, ds)
		}
		ch <- prometheus.MustNewConstMetric(c.share, prometheus.GaugeValue, s.ShareDrifted, ds)
		ch <- prometheus.MustNewConstMetric(c.drift, prometheus.GaugeValue, b2f(s.DatasetDrift), ds)
		ch <- prometheus.MustNewConstMetric(c.windowEnd, prometheus.GaugeValue, float64(d.WindowEnd.Unix()), ds)
		ch <- prometheus.MustNewConstMetric(c.rows, prometheus.GaugeValue, float64(s.CurrentRows), ds)
	}
	for k, n := range c.runs {
		ch <- prometheus.MustNewConstMetric(c.windowsDesc, prometheus.GaugeValue, n, k[0], k[1])
	}
	ch <- prometheus.MustNewConstMetric(c.scrapeErrs, prometheus.CounterValue, c.errs)
}

func (c *Collector) refresh(ctx context.Context) error {
	// Only the small summary fields: the report JSON stays in the database.
	proj := bson.D{{Key: "dataset", Value: 1}, {Key: "status", Value: 1}, {Key: "window_start", Value: 1}, {Key: "window_end", Value: 1}, {Key: "summary", Value: 1}}
	cur, err := c.coll.Find(ctx, bson.D{}, options.Find().SetProjection(proj))
	if err != nil {
		return fmt.Errorf("find results: %w", err)
	}
	defer cur.Close(ctx)
	last := map[string]*batch.ResultDoc{}
	runs := map[[2]string]float64{}
	ids := map[string]bool{}
	for cur.Next(ctx) {
		var d batch.ResultDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("decode result: %w", err)
		}
		ids[d.ID] = true
		runs[[2]string{d.Dataset, d.Status}]++
		if d.Status != batch.StatusCompleted {
			continue
		}
		if p, ok := last[d.Dataset]; !ok || d.WindowEnd.After(p.WindowEnd) {
			dd := d
			last[d.Dataset] = &dd
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("read results: %w", err)
	}
	if err := c.countUnrecorded(ctx, ids, runs); err != nil {
		return err
	}
	// A dataset's failed and skipped counts exist from its first run on, at 0, so
	// dashboards and the rules see "no failed/skipped window" rather than no series.
	for k := range runs {
		for _, st := range []string{batch.StatusFailed, batch.StatusSkipped} {
			if _, ok := runs[[2]string{k[0], st}]; !ok {
				runs[[2]string{k[0], st}] = 0
			}
		}
	}
	c.last, c.runs = last, runs
	return nil
}

// countUnrecorded counts the claimed ledger windows that have no result document
// (ids): "claimed" while their run may still be going, "lost" after LostAfter.
func (c *Collector) countUnrecorded(ctx context.Context, ids map[string]bool, runs map[[2]string]float64) error {
	cur, err := c.windows.Find(ctx, bson.D{})
	if err != nil {
		return fmt.Errorf("find window claims: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var cl batch.Claim
		if err := cur.Decode(&cl); err != nil {
			return fmt.Errorf("decode window claim: %w", err)
		}
		if ids[batch.ReportID(cl.Dataset, cl.Window())] {
			continue
		}
		st := StatusClaimed
		if time.Since(cl.ClaimedAt) > c.LostAfter {
			st = StatusLost
		}
		runs[[2]string{cl.Dataset, st}]++
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("read window claims: %w", err)
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

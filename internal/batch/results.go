package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/report"
)

// Status of a result document.
const (
	StatusCompleted = "completed" // a report was computed
	StatusNoData    = "no_data"   // the window had no logged predictions
	StatusFailed    = "failed"    // the run failed; Error says why
	// StatusSkipped: the run of a ledger window failed for good (after its
	// retries); Error says why. The ledger has moved past the window, so later
	// windows still run; a re-run of the window replaces this result.
	StatusSkipped = "skipped"
)

// How the rows of a window were selected (ResultDoc.SelectedBy).
const (
	SelectedByStoredAt   = "stored_at"   // StoredFilter: the insertion stamp (ledger path)
	SelectedByReceivedAt = "received_at" // FindLogged: the request time (runs before the ledger)
)

// TimeRange is the earliest and latest of a set of times.
type TimeRange struct {
	Min time.Time `json:"min" bson:"min"`
	Max time.Time `json:"max" bson:"max"`
}

// Add extends r by t; a zero t is ignored.
func (r *TimeRange) Add(t time.Time) {
	if t.IsZero() {
		return
	}
	if r.Min.IsZero() || t.Before(r.Min) {
		r.Min = t
	}
	if r.Max.IsZero() || t.After(r.Max) {
		r.Max = t
	}
}

// Summary is the handful of numbers of a report that runs are compared by: the
// trend charts, the CLI summary and the workflow's result.
type Summary struct {
	ReferenceRows  int      `json:"reference_rows" bson:"reference_rows"`
	CurrentRows    int      `json:"current_rows" bson:"current_rows"`
	TargetRows     int      `json:"target_rows" bson:"target_rows"`
	DatasetDrift   bool     `json:"dataset_drift" bson:"dataset_drift"`
	ShareDrifted   float64  `json:"share_drifted_columns" bson:"share_drifted_columns"`
	DriftedColumns int      `json:"drifted_columns" bson:"drifted_columns"`
	RMSE           *float64 `json:"rmse,omitempty" bson:"rmse,omitempty"`
	MAE            *float64 `json:"mae,omitempty" bson:"mae,omitempty"`
	// EstimatedRMSE is the RMSE estimated without targets (performance estimator).
	EstimatedRMSE *float64 `json:"estimated_rmse,omitempty" bson:"estimated_rmse,omitempty"`
}

// SummaryOf extracts the Summary of a report.
func SummaryOf(r *report.Report) Summary {
	s := Summary{
		ReferenceRows:  r.ReferenceRows,
		CurrentRows:    r.CurrentRows,
		DatasetDrift:   r.DataDrift.DatasetDrift,
		ShareDrifted:   r.DataDrift.ShareDrifted,
		DriftedColumns: r.DataDrift.Drifted,
	}
	if c := r.Regression.Current; c != nil {
		rmse, mae := c.RMSE, c.MAE
		s.RMSE, s.MAE, s.TargetRows = &rmse, &mae, c.N
	}
	if e := r.PerformanceEstimate; e != nil {
		v := e.RMSE
		s.EstimatedRMSE = &v
	}
	return s
}

// ModelVersionCount is how many logged predictions of a window one model version made.
type ModelVersionCount struct {
	Version string `json:"version" bson:"version"`
	Rows    int    `json:"rows" bson:"rows"`
}

// RowCounts are the row counts of a run.
type RowCounts struct {
	Reference int `json:"reference" bson:"reference"`
	Current   int `json:"current" bson:"current"`
	// Skipped logged documents had no usable prediction.
	Skipped int `json:"skipped" bson:"skipped"`
	// TargetsMatched current rows have a target; TargetsInDomain of them are in the
	// model's domain and measured by regression quality.
	TargetsMatched  int `json:"targets_matched" bson:"targets_matched"`
	TargetsInDomain int `json:"targets_in_domain" bson:"targets_in_domain"`
	// Late current rows were received before the window started and stored in it
	// (a spool drained after an outage, a write queued at the boundary).
	Late int `json:"late,omitempty" bson:"late,omitempty"`
}

// ResultDoc is one document of mongodb.CollectionReport: the result of (dataset, window), _id
// ReportID. Report is the report.Report JSON contract as an embedded document.
type ResultDoc struct {
	ID                  string              `json:"_id" bson:"_id"`
	Dataset             string              `json:"dataset" bson:"dataset"`
	Status              string              `json:"status" bson:"status"`
	Error               string              `json:"error,omitempty" bson:"error,omitempty"`
	WindowStart         time.Time           `json:"window_start" bson:"window_start"`
	WindowEnd           time.Time           `json:"window_end" bson:"window_end"`
	WorkflowID          string              `json:"workflow_id" bson:"workflow_id"`
	RunID               string              `json:"run_id" bson:"run_id"`
	ModelVersion        string              `json:"model_version" bson:"model_version"`
	ServedModelVersions []ModelVersionCount `json:"served_model_versions,omitempty" bson:"served_model_versions,omitempty"`
	Reference           string              `json:"reference,omitempty" bson:"reference,omitempty"`
	Targets             string              `json:"targets,omitempty" bson:"targets,omitempty"`
	Rows                RowCounts           `json:"rows" bson:"rows"`
	// WindowKind is "ledger" (a window of the dataset's ledger, counted once) or
	// "adhoc" (an explicit window outside it); empty on results from before the ledger.
	WindowKind string `json:"window_kind,omitempty" bson:"window_kind,omitempty"`
	// LedgerSeq is the ledger position of a ledger window.
	LedgerSeq *int64 `json:"ledger_seq,omitempty" bson:"ledger_seq,omitempty"`
	// SelectedBy is the field the window ranges over (SelectedByStoredAt,
	// SelectedByReceivedAt; empty: received_at).
	SelectedBy string `json:"selected_by,omitempty" bson:"selected_by,omitempty"`
	// ReceivedAt is the range of received_at of the window's rows.
	ReceivedAt *TimeRange       `json:"received_at,omitempty" bson:"received_at,omitempty"`
	Summary    *Summary         `json:"summary,omitempty" bson:"summary,omitempty"`
	TimingsMS  map[string]int64 `json:"timings_ms,omitempty" bson:"timings_ms,omitempty"`
	HTMLPath   string           `json:"html_path,omitempty" bson:"html_path,omitempty"`
	HTMLHost   string           `json:"html_host,omitempty" bson:"html_host,omitempty"`
	StartedAt  time.Time        `json:"started_at" bson:"started_at"`
	UpdatedAt  time.Time        `json:"updated_at" bson:"updated_at"`
	Report     bson.Raw         `json:"-" bson:"report,omitempty"`
}

// ReportJSON converts the embedded report back to its JSON contract (nil if none).
func (d *ResultDoc) ReportJSON() (json.RawMessage, error) {
	if len(d.Report) == 0 {
		return nil, nil
	}
	b, err := bson.MarshalExtJSON(d.Report, false, false)
	if err != nil {
		return nil, fmt.Errorf("report of %s to JSON: %w", d.ID, err)
	}
	return b, nil
}

// MarshalJSON writes the document with its report as JSON.
func (d ResultDoc) MarshalJSON() ([]byte, error) {
	type plain ResultDoc
	rep, err := d.ReportJSON()
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		plain
		Report json.RawMessage `json:"report,omitempty"`
	}{plain(d), rep})
}

// ReportDocument converts report JSON to a BSON document for embedding. Field names
// must be storable: a column called "a.b" or "$x" is an error naming it.
func ReportDocument(reportJSON []byte) (bson.Raw, error) {
	var raw bson.Raw
	if err := bson.UnmarshalExtJSON(reportJSON, false, &raw); err != nil {
		return nil, fmt.Errorf("report JSON to BSON: %w", err)
	}
	if err := checkKeys(raw, "report"); err != nil {
		return nil, err
	}
	return raw, nil
}

// ErrBadFieldName is wrapped by ReportDocument for a key MongoDB cannot store portably.
var ErrBadFieldName = errors.New("field name not storable in MongoDB")

func checkKeys(doc bson.Raw, path string) error {
	elems, err := doc.Elements()
	if err != nil {
		return fmt.Errorf("report BSON: %w", err)
	}
	for _, e := range elems {
		k := e.Key()
		if strings.Contains(k, ".") || strings.HasPrefix(k, "$") {
			return fmt.Errorf("%w: %s.%s (rename the column: '.' and a leading '$' cannot be stored)", ErrBadFieldName, path, k)
		}
		v := e.Value()
		switch v.Type {
		case bson.TypeEmbeddedDocument:
			if err := checkKeys(v.Document(), path+"."+k); err != nil {
				return err
			}
		case bson.TypeArray:
			vals, _ := v.Array().Values()
			for _, av := range vals {
				if av.Type == bson.TypeEmbeddedDocument {
					if err := checkKeys(av.Document(), path+"."+k); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// Results reads and writes mongodb.CollectionReport.
type Results struct {
	Coll *mongo.Collection
}

// NewResults returns the result collection of db.
func NewResults(db *mongo.Database) Results {
	return Results{Coll: db.Collection(mongodb.CollectionReport)}
}

// Upsert writes the document of its _id, replacing an earlier one: a retried or
// repeated run of a window leaves exactly one document.
func (r Results) Upsert(ctx context.Context, d *ResultDoc) error {
	_, err := r.Coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, d, options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("save result %s: %w", d.ID, err)
	}
	return nil
}

// UpsertUnlessCompleted writes a document (a failed run's) unless a completed
// result of the same window is there: a failed re-run must not replace a good
// report. kept reports that the completed document was kept.
func (r Results) UpsertUnlessCompleted(ctx context.Context, d *ResultDoc) (kept bool, err error) {
	filter := bson.D{{Key: "_id", Value: d.ID}, {Key: "status", Value: bson.D{{Key: "$ne", Value: StatusCompleted}}}}
	_, err = r.Coll.ReplaceOne(ctx, filter, d, options.Replace().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		// The filter missed a document with this _id: it is a completed one.
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("save result %s: %w", d.ID, err)
	}
	return false, nil
}

// Get reads the document with id; found is false if there is none.
func (r Results) Get(ctx context.Context, id string) (doc *ResultDoc, found bool, err error) {
	var d ResultDoc
	err = r.Coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read result %s: %w", id, err)
	}
	return &d, true, nil
}

// LastWindowEnd is the end of the latest window of dataset that a run covered
// (completed, or had no data); found is false before the first such run.
func (r Results) LastWindowEnd(ctx context.Context, dataset string) (end time.Time, found bool, err error) {
	filter := bson.D{
		{Key: "dataset", Value: dataset},
		{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{StatusCompleted, StatusNoData}}}},
	}
	opts := options.Find().SetProjection(bson.D{{Key: "window_end", Value: 1}}).
		SetSort(bson.D{{Key: "window_end", Value: -1}}).SetLimit(1)
	cur, err := r.Coll.Find(ctx, filter, opts)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("last window of %s: %w", dataset, err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var d struct {
			End time.Time `bson:"window_end"`
		}
		if err := cur.Decode(&d); err != nil {
			return time.Time{}, false, fmt.Errorf("last window of %s: %w", dataset, err)
		}
		if !found || d.End.After(end) {
			end, found = d.End.UTC(), true
		}
	}
	if err := cur.Err(); err != nil {
		return time.Time{}, false, fmt.Errorf("last window of %s: %w", dataset, err)
	}
	return end, found, nil
}

// Trend reads the key metrics of the completed runs of dataset, except the document
// exclude, sorted by window end (in Go), the last limit ones.
func (r Results) Trend(ctx context.Context, dataset, exclude string, limit int) ([]report.TrendPoint, error) {
	filter := bson.D{{Key: "dataset", Value: dataset}, {Key: "status", Value: StatusCompleted}}
	proj := bson.D{{Key: "window_end", Value: 1}, {Key: "summary", Value: 1}}
	cur, err := r.Coll.Find(ctx, filter, options.Find().SetProjection(proj))
	if err != nil {
		return nil, fmt.Errorf("trend of %s: %w", dataset, err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	var out []report.TrendPoint
	for cur.Next(ctx) {
		var d struct {
			ID      string    `bson:"_id"`
			End     time.Time `bson:"window_end"`
			Summary *Summary  `bson:"summary"`
		}
		if err := cur.Decode(&d); err != nil {
			return nil, fmt.Errorf("trend of %s: %w", dataset, err)
		}
		if d.ID == exclude || d.Summary == nil {
			continue
		}
		out = append(out, TrendPointOf(d.End, *d.Summary))
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("trend of %s: %w", dataset, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].WindowEnd.Before(out[j].WindowEnd) })
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

// TrendPointOf is the trend point of a run; an unknown RMSE (realized or estimated) is 0.
func TrendPointOf(end time.Time, s Summary) report.TrendPoint {
	p := report.TrendPoint{WindowEnd: end.UTC(), ShareDrifted: s.ShareDrifted, DatasetDrift: s.DatasetDrift, CurrentRows: s.CurrentRows}
	if s.RMSE != nil {
		p.RMSE = *s.RMSE
	}
	if s.EstimatedRMSE != nil {
		p.EstimatedRMSE = *s.EstimatedRMSE
	}
	return p
}

// EnsureIndexes creates the indexes the batch relies on with real MongoDB (on
// FerretDB they are accepted but not used): the time index of the prediction log, the
// (dataset, window_end) index of results, and the run index and TTL of staging. It
// tries every index and returns the errors joined; callers log them and go on.
func EnsureIndexes(ctx context.Context, db *mongo.Database, ds Dataset) error {
	type ix struct {
		coll, name string
		model      mongo.IndexModel
	}
	ixs := []ix{
		{ds.Collection, "batch_received_at", mongo.IndexModel{Keys: bson.D{{Key: mongodb.FieldReceivedAt, Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("batch_received_at")}},
		{ds.Collection, "batch_stored_at", mongo.IndexModel{Keys: bson.D{{Key: mongodb.FieldStoredAt, Value: 1}}, Options: options.Index().SetName("batch_stored_at")}},
		{mongodb.CollectionWindows, "batch_dataset_seq", mongo.IndexModel{Keys: bson.D{{Key: "dataset", Value: 1}, {Key: "seq", Value: -1}}, Options: options.Index().SetName("batch_dataset_seq")}},
		{mongodb.CollectionReport, "batch_dataset_window_end", mongo.IndexModel{Keys: bson.D{{Key: "dataset", Value: 1}, {Key: "window_end", Value: 1}}, Options: options.Index().SetName("batch_dataset_window_end")}},
		{mongodb.CollectionStaging, "batch_run_stage_seq", mongo.IndexModel{Keys: bson.D{{Key: "run", Value: 1}, {Key: "stage", Value: 1}, {Key: "seq", Value: 1}}, Options: options.Index().SetName("batch_run_stage_seq")}},
		{mongodb.CollectionReferenceCache, "batch_entry_run", mongo.IndexModel{Keys: bson.D{{Key: "entry", Value: 1}, {Key: "run", Value: 1}, {Key: "seq", Value: 1}}, Options: options.Index().SetName("batch_entry_run")}},
		{mongodb.CollectionStaging, "batch_ttl", mongo.IndexModel{Keys: bson.D{{Key: "created_at", Value: 1}}, Options: options.Index().SetName("batch_ttl").SetExpireAfterSeconds(int32(StagingTTL / time.Second))}},
	}
	var errs []error
	for _, x := range ixs {
		if _, err := db.Collection(x.coll).Indexes().CreateOne(ctx, x.model); err != nil {
			errs = append(errs, fmt.Errorf("index %s on %s: %w", x.name, x.coll, err))
		}
	}
	return errors.Join(errs...)
}

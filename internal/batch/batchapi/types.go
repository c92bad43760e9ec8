package batchapi

import (
	"time"

	"github.com/modelmon/modelmon/internal/batch"
)

// ClaimInput asks for the window of a run (batch.Ledger.Claim).
type ClaimInput struct {
	// Run is "<workflow id>/<run id>": a retried claim of the same run returns the
	// window it claimed.
	Run     string `json:"run"`
	Dataset string `json:"dataset"`
	// WindowStart nil: the next window of the dataset's ledger, up to WindowEnd.
	WindowStart *time.Time `json:"window_start,omitempty"`
	WindowEnd   time.Time  `json:"window_end"`
}

// ClaimResult is the run's window: batch.Claimed (kind ledger, rerun, adhoc or
// empty, and the ledger position).
type ClaimResult = batch.Claimed

// FetchInput selects the logged predictions of a run.
type FetchInput struct {
	// Run keys the run's staging (the workflow uses "<workflow id>/<run id>").
	Run     string `json:"run"`
	Dataset string `json:"dataset"`
	// WindowStart nil means: the end of the last window the dataset's runs covered,
	// or WindowEnd - 24h before the first run.
	WindowStart *time.Time `json:"window_start,omitempty"`
	WindowEnd   time.Time  `json:"window_end"`
	// ByStoredAt selects the documents stored in the window (batch.StoredFilter)
	// instead of those received in it (runs started before the window ledger).
	ByStoredAt bool `json:"by_stored_at,omitempty"`
}

// FetchResult locates the staged predictions. An empty window (nothing to cover) has
// Current.Rows 0 and Window.Start == Window.End.
type FetchResult struct {
	Window  batch.Window   `json:"window"`
	Current batch.StageRef `json:"current"`
	// Skipped logged documents had no usable prediction or id.
	Skipped int `json:"skipped,omitempty"`
	// ModelVersions counts rows by the model version that served them (at most 10).
	ModelVersions []batch.ModelVersionCount `json:"model_versions,omitempty"`
	// ResumedFromChunk is the chunk this attempt started from (0: from scratch).
	ResumedFromChunk int `json:"resumed_from_chunk,omitempty"`
	// Late rows were received before the window started (ByStoredAt only);
	// ReceivedAt is the range of received_at of the staged rows.
	Late       int              `json:"late,omitempty"`
	ReceivedAt *batch.TimeRange `json:"received_at,omitempty"`
}

// ScoreReferenceInput names the reference of a run.
type ScoreReferenceInput struct {
	Run     string `json:"run"`
	Dataset string `json:"dataset"`
	// Reference is the reference file (relative to DATA_DIR); empty: the dataset's
	// default reference.
	Reference string `json:"reference,omitempty"`
}

// ScoreReferenceResult locates the staged, scored reference.
type ScoreReferenceResult struct {
	Reference    batch.StageRef `json:"reference"`
	Path         string         `json:"path"`
	ModelVersion string         `json:"model_version"`
	// ResumedChunks were written by an earlier attempt.
	ResumedChunks int `json:"resumed_chunks,omitempty"`
	// CacheHit: the reference came from the reference cache (batch.RefCache), not
	// scored by this run; CacheMiss says why it was scored (no entry, a corrupt or
	// foreign one). CacheEntry is the entry's _id.
	CacheHit   bool   `json:"cache_hit,omitempty"`
	CacheMiss  string `json:"cache_miss,omitempty"`
	CacheEntry string `json:"cache_entry,omitempty"`
}

// CacheOutcome is "hit", "miss" or "" (a result of a worker without the cache).
func (r *ScoreReferenceResult) CacheOutcome() string {
	switch {
	case r == nil:
		return ""
	case r.CacheHit:
		return "hit"
	case r.CacheMiss != "":
		return "miss"
	}
	return ""
}

// JoinInput names the staged predictions and where their targets are.
type JoinInput struct {
	Run     string         `json:"run"`
	Dataset string         `json:"dataset"`
	Current batch.StageRef `json:"current"`
	// Targets is the path of a target CSV ("id,value" lines, header optional;
	// relative to DATA_DIR); empty reads the dataset's target collection.
	Targets string `json:"targets,omitempty"`
}

// JoinResult locates the staged target column (stage "target", chunk for chunk and
// row for row aligned with the current stage).
type JoinResult struct {
	Targets batch.StageRef `json:"targets"`
	// Source is "csv:<path>" or "collection:<name>".
	Source string `json:"source"`
	// Matched rows have a target; InDomain of them are measured by regression quality.
	Matched  int `json:"matched"`
	InDomain int `json:"in_domain"`
	// ResumedChunks were done by an earlier attempt.
	ResumedChunks int `json:"resumed_chunks,omitempty"`
}

// ComputeInput names the staged inputs of the report.
type ComputeInput struct {
	Run       string         `json:"run"`
	Dataset   string         `json:"dataset"`
	Reference batch.StageRef `json:"reference"`
	Current   batch.StageRef `json:"current"`
	// Targets is the join's target stage; Chunks 0 means no targets.
	Targets batch.StageRef `json:"targets"`
}

// ComputeResult locates the staged report JSON (stage "report", one chunk) and
// summarises it.
type ComputeResult struct {
	Report      batch.StageRef `json:"report"`
	Summary     batch.Summary  `json:"summary"`
	ReportBytes int            `json:"report_bytes"`
	// LoadMS and ComputeMS split the activity's time between reading the staged data
	// and report.Compute.
	LoadMS    int64 `json:"load_ms"`
	ComputeMS int64 `json:"compute_ms"`
}

// SaveHTMLInput names the staged report and the run it belongs to.
type SaveHTMLInput struct {
	Run          string         `json:"run"`
	Dataset      string         `json:"dataset"`
	Window       batch.Window   `json:"window"`
	Report       batch.StageRef `json:"report"`
	Summary      batch.Summary  `json:"summary"`
	WorkflowID   string         `json:"workflow_id"`
	RunID        string         `json:"run_id"`
	ModelVersion string         `json:"model_version"`
	// GeneratedAt is the workflow's time, so that a retry writes the same file.
	GeneratedAt time.Time `json:"generated_at"`
}

// SaveHTMLResult is where the report was written.
type SaveHTMLResult struct {
	Path        string `json:"path"`
	Host        string `json:"host"`
	Bytes       int    `json:"bytes"`
	TrendPoints int    `json:"trend_points"`
}

// InsertResultsInput is everything the result document records.
type InsertResultsInput struct {
	Dataset string       `json:"dataset"`
	Window  batch.Window `json:"window"`
	// Status is batch.StatusCompleted, StatusNoData, or StatusFailed or
	// StatusSkipped (with Error).
	Status       string `json:"status"`
	Error        string `json:"error,omitempty"`
	WorkflowID   string `json:"workflow_id"`
	RunID        string `json:"run_id"`
	ModelVersion string `json:"model_version,omitempty"`
	// Run keys the run's staging; Report, if set, is the staged report to embed.
	Run           string                    `json:"run"`
	Report        *batch.StageRef           `json:"report,omitempty"`
	Summary       *batch.Summary            `json:"summary,omitempty"`
	Rows          batch.RowCounts           `json:"rows"`
	ModelVersions []batch.ModelVersionCount `json:"model_versions,omitempty"`
	Reference     string                    `json:"reference,omitempty"`
	Targets       string                    `json:"targets,omitempty"`
	TimingsMS     map[string]int64          `json:"timings_ms,omitempty"`
	HTMLPath      string                    `json:"html_path,omitempty"`
	HTMLHost      string                    `json:"html_host,omitempty"`
	StartedAt     time.Time                 `json:"started_at"`
	// Cleanup deletes the run's staging after the document is saved.
	Cleanup bool `json:"cleanup"`
	// WindowKind ("ledger", "adhoc"), LedgerSeq, SelectedBy and ReceivedAt are
	// recorded as batch.ResultDoc has them (empty for runs before the ledger).
	WindowKind string           `json:"window_kind,omitempty"`
	LedgerSeq  *int64           `json:"ledger_seq,omitempty"`
	SelectedBy string           `json:"selected_by,omitempty"`
	ReceivedAt *batch.TimeRange `json:"received_at,omitempty"`
}

// InsertResultsResult names the document written.
type InsertResultsResult struct {
	ID             string `json:"id"`
	StagingDeleted int64  `json:"staging_deleted"`
	// KeptCompleted: a failed run did not replace the window's completed result.
	KeptCompleted bool `json:"kept_completed,omitempty"`
}

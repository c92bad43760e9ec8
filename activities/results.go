package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
)

// InsertResults writes the result document of (dataset, window) with a ReplaceOne
// upsert on its deterministic _id (batch.ReportID), so that a retried activity or a
// repeated run leaves exactly one document, then deletes the run's staging. A failed
// or skipped run's document never replaces a completed one.
func (a *Activities) InsertResults(ctx context.Context, in batchapi.InsertResultsInput) (*batchapi.InsertResultsResult, error) {
	log := activity.GetLogger(ctx)
	if err := batch.ValidateDatasetName(in.Dataset); err != nil {
		return nil, badInput(err, "%v", err)
	}
	if err := in.Window.Validate(); err != nil {
		return nil, badInput(err, "result of %s: %v", in.Dataset, err)
	}
	doc := &batch.ResultDoc{
		ID:                  batch.ReportID(in.Dataset, in.Window),
		Dataset:             in.Dataset,
		Status:              in.Status,
		Error:               in.Error,
		WindowStart:         in.Window.Start.UTC(),
		WindowEnd:           in.Window.End.UTC(),
		WorkflowID:          in.WorkflowID,
		RunID:               in.RunID,
		ModelVersion:        in.ModelVersion,
		ServedModelVersions: in.ModelVersions,
		Reference:           in.Reference,
		Targets:             in.Targets,
		Rows:                in.Rows,
		Summary:             in.Summary,
		TimingsMS:           in.TimingsMS,
		HTMLPath:            in.HTMLPath,
		HTMLHost:            in.HTMLHost,
		StartedAt:           in.StartedAt.UTC(),
		UpdatedAt:           time.Now().UTC(),
		WindowKind:          in.WindowKind,
		LedgerSeq:           in.LedgerSeq,
		SelectedBy:          in.SelectedBy,
		ReceivedAt:          in.ReceivedAt,
	}
	if in.Report != nil {
		_, b, err := a.readReport(ctx, *in.Report)
		if err != nil {
			if done, derr := a.savedByEarlierAttempt(ctx, doc, err); derr == nil && done {
				// An earlier attempt saved the document and deleted the staging, then
				// its worker died before Temporal heard of the completion.
				log.Info("result already saved by an earlier attempt", "id", doc.ID, "run_id", in.RunID)
				return &batchapi.InsertResultsResult{ID: doc.ID}, nil
			}
			return nil, err
		}
		raw, err := batch.ReportDocument(b)
		if err != nil {
			if errors.Is(err, batch.ErrBadFieldName) {
				return nil, temporal.NewNonRetryableApplicationError(err.Error(), batchapi.ErrBadInput, err)
			}
			return nil, err
		}
		doc.Report = raw
	}
	results := a.results()
	res := &batchapi.InsertResultsResult{ID: doc.ID}
	if doc.Status == batch.StatusFailed || doc.Status == batch.StatusSkipped {
		kept, err := results.UpsertUnlessCompleted(ctx, doc)
		if err != nil {
			return nil, err
		}
		res.KeptCompleted = kept
	} else if err := results.Upsert(ctx, doc); err != nil {
		return nil, err
	}
	if in.Cleanup && in.Run != "" {
		// Best effort: the TTL index removes what is left.
		n, err := a.staging().DeleteRun(ctx, in.Run)
		if err != nil {
			log.Warn("staging not deleted; the TTL index will", "run", in.Run, "error", err)
		} else {
			res.StagingDeleted = n
		}
	}
	log.Info("result saved", "id", doc.ID, "status", doc.Status, "staging_deleted", res.StagingDeleted)
	return res, nil
}

// savedByEarlierAttempt reports whether the staged report is missing (readErr) because
// an earlier attempt of this very InsertResults already saved the window's document
// (same workflow run and status) and then deleted the run's staging.
func (a *Activities) savedByEarlierAttempt(ctx context.Context, doc *batch.ResultDoc, readErr error) (bool, error) {
	if !errors.Is(readErr, batch.ErrStageIncomplete) {
		return false, nil
	}
	prev, found, err := a.results().Get(ctx, doc.ID)
	if err != nil || !found {
		return false, err
	}
	return prev.WorkflowID == doc.WorkflowID && prev.RunID == doc.RunID && prev.Status == doc.Status && len(prev.Report) > 0, nil
}

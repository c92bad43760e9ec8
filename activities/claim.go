package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
)

// ClaimWindow decides the run's window on the dataset's ledger (batch.Ledger.Claim):
// the next ledger window for an open start, claimed by inserting its claim document
// (a duplicate _id means another run took it first: the ledger is read again), or,
// for an explicit window, a rerun of a ledger window, the next ledger window, or an
// ad-hoc window. A retry of the same run returns the window it already claimed.
func (a *Activities) ClaimWindow(ctx context.Context, in batchapi.ClaimInput) (*batchapi.ClaimResult, error) {
	if _, err := dataset(in.Dataset); err != nil {
		return nil, err
	}
	if in.Run == "" {
		return nil, badInput(nil, "ClaimWindow: run is empty")
	}
	c, err := batch.NewLedger(a.DB).Claim(ctx, in.Dataset, in.Run, in.WindowStart, in.WindowEnd)
	if errors.Is(err, batch.ErrBadWindow) {
		return nil, badInput(err, "%v", err)
	}
	if err != nil {
		return nil, err
	}
	activity.GetLogger(ctx).Info("window decided", "dataset", in.Dataset, "window", c.Window.String(), "kind", c.Kind, "seq", c.Seq)
	return &c, nil
}

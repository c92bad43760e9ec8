package batch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/modelmon/modelmon/internal/mongodb"
)

// The ledger is the sequence of a dataset's accounting windows, one Claim document
// each in mongodb.CollectionWindows: contiguous, never overlapping ranges of the
// insertion stamp (mongodb.FieldStoredAt). A run takes the next window by inserting
// the claim of the next sequence number, _id "<dataset>/<seq>": MongoDB's unique _id
// makes the insert the lock, so of two runs that read the same last claim (a
// scheduled run and a manual one, whoever started them) exactly one gets the window
// and the other reads again and takes the window after it, or finds nothing left.
// Claims are never deleted; the window of a claim is counted by its run's result
// document (completed, no_data, or skipped with the reason).

// Kinds of window a run covers (Claimed.Kind).
const (
	// KindLedger: a new window of the ledger, claimed by this run.
	KindLedger = "ledger"
	// KindRerun: exactly a window of the ledger claimed earlier (a re-run replaces
	// its result).
	KindRerun = "rerun"
	// KindAdhoc: an explicit window that is neither the next window of the ledger
	// nor one of its windows (it overlaps the ledger or leaves a gap): an analysis
	// whose result is stored with window_kind "adhoc" and counted in no accounting.
	KindAdhoc = "adhoc"
	// KindEmpty: an open window with nothing left to cover (Start == End).
	KindEmpty = "empty"
)

// Claim is one window of a dataset's ledger.
type Claim struct {
	ID        string    `bson:"_id" json:"id"`
	Dataset   string    `bson:"dataset" json:"dataset"`
	Seq       int64     `bson:"seq" json:"seq"`
	Start     time.Time `bson:"start" json:"start"`
	End       time.Time `bson:"end" json:"end"`
	Run       string    `bson:"run" json:"run"` // "<workflow id>/<run id>" of the claiming run
	ClaimedAt time.Time `bson:"claimed_at" json:"claimed_at"`
}

// Window is the claim's window.
func (c *Claim) Window() Window { return Window{Start: c.Start.UTC(), End: c.End.UTC()} }

// Claimed is what Ledger.Claim decided for a run.
type Claimed struct {
	Window Window `json:"window"`
	Kind   string `json:"kind"`
	// Seq is the ledger position of a ledger or rerun window (-1 otherwise).
	Seq int64 `json:"seq"`
}

// ClaimID is the _id of the claim of (dataset, seq).
func ClaimID(dataset string, seq int64) string { return fmt.Sprintf("%s/%012d", dataset, seq) }

// Ledger reads and writes mongodb.CollectionWindows.
type Ledger struct {
	Coll    *mongo.Collection
	Results Results
}

// NewLedger returns the ledger of db.
func NewLedger(db *mongo.Database) Ledger {
	return Ledger{Coll: db.Collection(mongodb.CollectionWindows), Results: NewResults(db)}
}

// maxClaimRaces bounds how often Claim reads again after losing the insert to
// another run.
const maxClaimRaces = 50

// ErrClaimContention: Claim lost maxClaimRaces races in a row.
var ErrClaimContention = errors.New("window ledger: too many concurrent claims")

// Claim decides the window of run (its "<workflow id>/<run id>") and, for a new
// ledger window, claims it. With start nil (an open run) the window is
// [end of the ledger, end); the first window of a dataset starts where its last
// covered window before the ledger ended (Results.LastWindowEnd), or DefaultLookback
// before end. With start given, [start, end) is a rerun if it is a ledger window, a
// new ledger window if it starts where the ledger ends (or the dataset has no
// ledger and no covered window yet), else an ad-hoc window. A retried Claim of the
// same run returns the window it claimed.
func (l Ledger) Claim(ctx context.Context, dataset, run string, start *time.Time, end time.Time) (Claimed, error) {
	none := Claimed{Seq: -1}
	if run == "" {
		return none, errors.New("window ledger: run is empty")
	}
	if end.IsZero() {
		return none, fmt.Errorf("%w: window_end is missing", ErrBadWindow)
	}
	end = end.UTC()
	if start != nil {
		w := Window{Start: start.UTC(), End: end}
		if err := w.Validate(); err != nil {
			return none, fmt.Errorf("%w: %w", ErrBadWindow, err)
		}
	}
	if c, found, err := l.find(ctx, bson.D{{Key: "dataset", Value: dataset}, {Key: "run", Value: run}}); err != nil {
		return none, err
	} else if found {
		return Claimed{Window: c.Window(), Kind: KindLedger, Seq: c.Seq}, nil
	}
	for range maxClaimRaces {
		last, found, err := l.Last(ctx, dataset)
		if err != nil {
			return none, err
		}
		next, ledgerEnd, haveEnd := int64(0), time.Time{}, found
		if found {
			next, ledgerEnd = last.Seq+1, last.End.UTC()
		} else if ledgerEnd, haveEnd, err = l.Results.LastWindowEnd(ctx, dataset); err != nil {
			return none, err
		}
		var w Window
		if start != nil {
			w = Window{Start: start.UTC(), End: end}
			same, found, err := l.find(ctx, bson.D{{Key: "dataset", Value: dataset}, {Key: "start", Value: w.Start}, {Key: "end", Value: w.End}})
			if err != nil {
				return none, err
			}
			if found {
				return Claimed{Window: w, Kind: KindRerun, Seq: same.Seq}, nil
			}
			if haveEnd && !w.Start.Equal(ledgerEnd) {
				return Claimed{Window: w, Kind: KindAdhoc, Seq: -1}, nil
			}
		} else {
			w = OpenWindow(end, ledgerEnd, haveEnd)
			if !w.End.After(w.Start) {
				return Claimed{Window: w, Kind: KindEmpty, Seq: -1}, nil
			}
		}
		c := Claim{ID: ClaimID(dataset, next), Dataset: dataset, Seq: next, Start: w.Start, End: w.End, Run: run, ClaimedAt: time.Now().UTC()}
		_, err = l.Coll.InsertOne(ctx, c)
		if mongo.IsDuplicateKeyError(err) {
			continue // another run took seq next first: read the ledger again
		}
		if err != nil {
			return none, fmt.Errorf("claim window %s of %s: %w", w, dataset, err)
		}
		return Claimed{Window: w, Kind: KindLedger, Seq: next}, nil
	}
	return none, fmt.Errorf("%w on %s", ErrClaimContention, dataset)
}

// Next is the window an open run ending at end would claim now (read only: a run
// that claims later may get another one, when a run claimed in between).
func (l Ledger) Next(ctx context.Context, dataset string, end time.Time) (Window, error) {
	if end.IsZero() {
		return Window{}, fmt.Errorf("%w: window_end is missing", ErrBadWindow)
	}
	last, found, err := l.Last(ctx, dataset)
	if err != nil {
		return Window{}, err
	}
	if found {
		return OpenWindow(end, last.End, true), nil
	}
	prev, found, err := l.Results.LastWindowEnd(ctx, dataset)
	if err != nil {
		return Window{}, err
	}
	return OpenWindow(end, prev, found), nil
}

// Last returns the claim of dataset with the highest sequence number.
func (l Ledger) Last(ctx context.Context, dataset string) (*Claim, bool, error) {
	opts := options.Find().SetSort(bson.D{{Key: "seq", Value: -1}}).SetLimit(1)
	cur, err := l.Coll.Find(ctx, bson.D{{Key: "dataset", Value: dataset}}, opts)
	if err != nil {
		return nil, false, fmt.Errorf("window ledger of %s: %w", dataset, err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	var out *Claim
	for cur.Next(ctx) {
		var c Claim
		if err := cur.Decode(&c); err != nil {
			return nil, false, fmt.Errorf("window ledger of %s: %w", dataset, err)
		}
		if out == nil || c.Seq > out.Seq {
			out = &c
		}
	}
	if err := cur.Err(); err != nil {
		return nil, false, fmt.Errorf("window ledger of %s: %w", dataset, err)
	}
	return out, out != nil, nil
}

// All returns the claims of dataset in sequence order.
func (l Ledger) All(ctx context.Context, dataset string) ([]Claim, error) {
	cur, err := l.Coll.Find(ctx, bson.D{{Key: "dataset", Value: dataset}}, options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("window ledger of %s: %w", dataset, err)
	}
	var out []Claim
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("window ledger of %s: %w", dataset, err)
	}
	return out, nil
}

func (l Ledger) find(ctx context.Context, filter bson.D) (*Claim, bool, error) {
	var c Claim
	err := l.Coll.FindOne(ctx, filter).Decode(&c)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return &c, false, nil
	}
	if err != nil {
		return &c, false, fmt.Errorf("window ledger: %w", err)
	}
	return &c, true, nil
}

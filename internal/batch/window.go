package batch

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Window is a half-open interval [Start, End) of prediction log times (received_at).
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// DefaultLookback is the window of a first run with no window given.
const DefaultLookback = 24 * time.Hour

// ErrEmptyWindow is returned by Window.Validate for End <= Start.
var ErrEmptyWindow = errors.New("window_end must be after window_start")

// Validate reports a zero bound or End <= Start.
func (w Window) Validate() error {
	if w.Start.IsZero() || w.End.IsZero() {
		return errors.New("window has a zero bound")
	}
	if !w.End.After(w.Start) {
		return fmt.Errorf("%w (got %s .. %s)", ErrEmptyWindow, w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
	}
	return nil
}

// String is "START/END" in RFC 3339, UTC.
func (w Window) String() string {
	return w.Start.UTC().Format(time.RFC3339Nano) + "/" + w.End.UTC().Format(time.RFC3339Nano)
}

// ParseTime parses one window bound: RFC 3339 (with a zone or Z; fractions allowed).
// An empty string is a zero time. The result is in UTC.
func ParseTime(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 time (want e.g. 2022-01-31T00:00:00Z): %w", field, s, err)
	}
	return t.UTC(), nil
}

// datasetName is what a dataset name may look like (it is part of ids and file names).
var datasetName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidateDatasetName reports a name that cannot be a dataset (the registry decides
// whether it is a known one).
func ValidateDatasetName(name string) error {
	if !datasetName.MatchString(name) {
		return fmt.Errorf("dataset %q is not a valid name (lower-case letters, digits, '_' and '-', e.g. %q)", name, "taxi")
	}
	return nil
}

// compact is the time format of ids and file names: sortable, no ':'.
const compact = "20060102T150405Z"

func compactTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond() != 0 {
		return t.Format("20060102T150405.000000000Z")
	}
	return t.Format(compact)
}

// ReportID is the _id of the result document of (dataset, window) in the report collection:
// "<dataset>/<start>/<end>" with RFC 3339 UTC times. The same window always has the
// same id, so a retried or repeated run replaces its document instead of adding one.
func ReportID(dataset string, w Window) string {
	return dataset + "/" + w.Start.UTC().Format(time.RFC3339Nano) + "/" + w.End.UTC().Format(time.RFC3339Nano)
}

// WorkflowID is the workflow id of a manual run of (dataset, window):
// "batch-monitoring-<dataset>-<start>-<end>" with compact UTC times.
func WorkflowID(dataset string, w Window) string {
	return "batch-monitoring-" + dataset + "-" + compactTime(w.Start) + "-" + compactTime(w.End)
}

// ScheduleID is the stable id of a dataset's schedule: "batch-monitoring-<dataset>".
func ScheduleID(dataset string) string { return "batch-monitoring-" + dataset }

// HTMLFileName is the report file's name for (dataset, window), without directory.
func HTMLFileName(dataset string, w Window) string {
	return dataset + "_" + compactTime(w.Start) + "_" + compactTime(w.End) + ".html"
}

// ErrBadWindow is wrapped by ResolveWindow's errors about the bounds it was given.
var ErrBadWindow = errors.New("malformed window")

// OpenWindow is the window of a run with an open start that ends at end: it starts
// where the dataset's last covered window ended (last, when found) or DefaultLookback
// before end on the first run, and never after end, so that a window already covered
// comes back empty (Start == End) instead of reversed.
func OpenWindow(end, last time.Time, found bool) Window {
	end = end.UTC()
	start := end.Add(-DefaultLookback)
	if found {
		start = last.UTC()
	}
	if start.After(end) {
		start = end
	}
	return Window{Start: start, End: end}
}

// ResolveWindow is the window of a run of dataset: [start, end) when start is given
// (an error wrapping ErrBadWindow unless end is after it), else OpenWindow with the
// end of the last window the dataset's results cover. A zero end is an ErrBadWindow.
// The workflow's first activity and the starter resolve windows with it.
func (r Results) ResolveWindow(ctx context.Context, dataset string, start *time.Time, end time.Time) (Window, error) {
	if end.IsZero() {
		return Window{}, fmt.Errorf("%w: window_end is missing", ErrBadWindow)
	}
	if start != nil {
		w := Window{Start: start.UTC(), End: end.UTC()}
		if err := w.Validate(); err != nil {
			return w, fmt.Errorf("%w: %w", ErrBadWindow, err)
		}
		return w, nil
	}
	last, found, err := r.LastWindowEnd(ctx, dataset)
	if err != nil {
		return Window{}, err
	}
	return OpenWindow(end, last, found), nil
}

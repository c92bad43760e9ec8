package batch

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestOpenWindowClampsTheStart(t *testing.T) {
	end := time.Date(2022, 1, 2, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name      string
		last      time.Time
		found     bool
		wantStart time.Time
	}{
		{"first run: the lookback", time.Time{}, false, end.Add(-DefaultLookback)},
		{"since the last window", end.Add(-3 * time.Hour), true, end.Add(-3 * time.Hour)},
		{"already covered up to end", end, true, end},
		{"covered past end: empty, not reversed", end.Add(time.Hour), true, end},
	} {
		w := OpenWindow(end, c.last, c.found)
		if !w.Start.Equal(c.wantStart) || !w.End.Equal(end) || w.Start.After(w.End) {
			t.Errorf("%s: %v, want start %v", c.name, w, c.wantStart)
		}
	}
}

func TestResolveWindowGivenBounds(t *testing.T) {
	var r Results // a given start never reads the results
	ctx := context.Background()
	start, end := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2022, 1, 2, 0, 0, 0, 0, time.UTC)
	w, err := r.ResolveWindow(ctx, "taxi", &start, end)
	if err != nil || !w.Start.Equal(start) || !w.End.Equal(end) {
		t.Errorf("given window: %v, %v", w, err)
	}
	if _, err := r.ResolveWindow(ctx, "taxi", &end, start); !errors.Is(err, ErrBadWindow) || !errors.Is(err, ErrEmptyWindow) {
		t.Errorf("reversed window: %v", err)
	}
	if _, err := r.ResolveWindow(ctx, "taxi", &start, time.Time{}); !errors.Is(err, ErrBadWindow) {
		t.Errorf("no end: %v", err)
	}
}

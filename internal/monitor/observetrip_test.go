package monitor

import (
	"reflect"
	"testing"

	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/taxi"
)

// TestObserveTripSameWindow: ObserveTrip leaves the window exactly as
// Observe(report.TaxiRow(...)) does, for real rides and rides with absent, negative
// and large location ids, and allocates nothing.
func TestObserveTripSameWindow(t *testing.T) {
	a, b := benchMonitor(t, 64), benchMonitor(t, 64)
	mod := testModel(t)
	rides := sampleRides(t, "2021-02", 100)
	i64 := func(v int64) *int64 { return &v }
	odd := []taxi.Trip{
		{},
		{PULocationID: i64(-3), DOLocationID: i64(1023)},
		{PULocationID: i64(1024), DOLocationID: i64(0), TripDistance: rides[0].TripDistance},
		{PULocationID: i64(264)},
	}
	rides = append(rides[:50:50], append(odd, rides[50:]...)...)
	for i := range rides {
		pred := float64(i) / 3
		if i < 50 {
			pred = taxiRow(mod, &rides[i]).Prediction
		}
		a.Observe("taxi", report.TaxiRow(&rides[i], pred, nil))
		b.ObserveTrip("taxi", &rides[i], pred)
		wa, wb := a.datasets["taxi"].window, b.datasets["taxi"].window
		if !reflect.DeepEqual(wa, wb) {
			t.Fatalf("ride %d (%+v): windows differ:\nObserve     %+v\nObserveTrip %+v", i, rides[i], wa, wb)
		}
	}
	if n := testing.AllocsPerRun(1000, func() { b.ObserveTrip("taxi", &rides[7], 12.5) }); n != 0 {
		t.Errorf("ObserveTrip: %v allocations per record, want 0", n)
	}
}

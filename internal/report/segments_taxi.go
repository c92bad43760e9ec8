package report

import (
	"time"

	"github.com/modelmon/modelmon/internal/taxi"
)

// TaxiLookupFile is the TLC zone lookup shipped in data/ (see data/SOURCES.md).
const TaxiLookupFile = "data/taxi_zone_lookup.csv"

// TaxiSegments are the segmentations of the taxi dataset, lookup being the path of
// the TLC zone lookup (TaxiLookupFile from the repository root):
//
//	pickup_borough    PULocationID -> Borough of the zone lookup
//	dropoff_borough   DOLocationID -> Borough of the zone lookup
//	pickup_hour_band  hour band (HourBands) of lpep_pickup_datetime
//
// All three are bounded (7 boroughs including EWR and Unknown; 5 bands and
// Unknown), so they also fit live metrics; zones are not offered.
func TaxiSegments(lookup string) []SegmentSpec {
	return []SegmentSpec{
		{Name: "pickup_borough", Column: "PULocationID", Lookup: lookup, LookupKey: "LocationID", LookupValue: "Borough"},
		{Name: "dropoff_borough", Column: "DOLocationID", Lookup: lookup, LookupKey: "LocationID", LookupValue: "Borough"},
		{Name: "pickup_hour_band", HourBandsOf: "lpep_pickup_datetime"},
	}
}

// TaxiSegmentSource gives the trip columns that segments read and that TaxiDataset
// does not keep (lpep_pickup_datetime, lpep_dropoff_datetime), aligned with
// TaxiDataset(trips, m)'s rows: the same trips, those passing the training filter.
func TaxiSegmentSource(trips []taxi.Trip) SegmentSource {
	var pick, drop []time.Time
	for i := range trips {
		t := &trips[i]
		if !t.KeepForTraining() {
			continue
		}
		// KeepForTraining implies both timestamps are present.
		pick = append(pick, t.Pickup.Time)
		drop = append(drop, t.Dropoff.Time)
	}
	return SegmentSource{
		"lpep_pickup_datetime":  {Time: pick},
		"lpep_dropoff_datetime": {Time: drop},
	}
}

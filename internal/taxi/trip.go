package taxi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Trip is one TLC green-taxi record. Every column is nullable in the TLC files, so
// every field is a pointer: nil is a missing value, never a zero.
// JSON field names are the TLC column names.
type Trip struct {
	VendorID             *int64     `json:"VendorID,omitempty"`
	Pickup               *LocalTime `json:"lpep_pickup_datetime,omitempty"`
	Dropoff              *LocalTime `json:"lpep_dropoff_datetime,omitempty"`
	StoreAndFwdFlag      *string    `json:"store_and_fwd_flag,omitempty"`
	RatecodeID           *int64     `json:"RatecodeID,omitempty"`
	PULocationID         *int64     `json:"PULocationID,omitempty"`
	DOLocationID         *int64     `json:"DOLocationID,omitempty"`
	PassengerCount       *int64     `json:"passenger_count,omitempty"`
	TripDistance         *float64   `json:"trip_distance,omitempty"`
	FareAmount           *float64   `json:"fare_amount,omitempty"`
	Extra                *float64   `json:"extra,omitempty"`
	MtaTax               *float64   `json:"mta_tax,omitempty"`
	TipAmount            *float64   `json:"tip_amount,omitempty"`
	TollsAmount          *float64   `json:"tolls_amount,omitempty"`
	EhailFee             *float64   `json:"ehail_fee,omitempty"`
	ImprovementSurcharge *float64   `json:"improvement_surcharge,omitempty"`
	TotalAmount          *float64   `json:"total_amount,omitempty"`
	PaymentType          *int64     `json:"payment_type,omitempty"`
	TripType             *int64     `json:"trip_type,omitempty"`
	CongestionSurcharge  *float64   `json:"congestion_surcharge,omitempty"`
}

// DurationMinutes is dropoff - pickup in minutes; ok is false when either is missing.
func (t *Trip) DurationMinutes() (d float64, ok bool) {
	if t.Pickup == nil || t.Dropoff == nil {
		return 0, false
	}
	return t.Dropoff.Sub(t.Pickup.Time).Minutes(), true
}

// Training filter bounds on the target, in minutes (inclusive), as in the seed.
const (
	MinDuration = 1.0
	MaxDuration = 60.0
)

// KeepForTraining reports whether the trip passes the training filter
// 1 <= duration <= 60 and has the model's inputs.
func (t *Trip) KeepForTraining() bool {
	d, ok := t.DurationMinutes()
	return ok && d >= MinDuration && d <= MaxDuration &&
		t.PULocationID != nil && t.DOLocationID != nil && t.TripDistance != nil
}

// PUDO is the model's categorical feature "<PULocationID>_<DOLocationID>".
func PUDO(pu, do int64) string {
	return strconv.FormatInt(pu, 10) + "_" + strconv.FormatInt(do, 10)
}

// LocalTime is a wall-clock time with no zone (TLC timestamps are NYC local time,
// stored with isAdjustedToUTC=false). It is kept in a UTC time.Time so that it is never
// shifted, and written without a zone suffix.
type LocalTime struct{ time.Time }

// localLayouts are accepted for LocalTime input: ISO-8601 with 'T' or the space that
// Python's str(datetime) writes (the seed's send_data.py), optional fraction and zone.
var localLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
}

// LocalTimeFormat is how LocalTime is written.
const LocalTimeFormat = "2006-01-02T15:04:05"

// ParseLocalTime parses an ISO-8601 timestamp. A zone, if given, is dropped after
// converting nothing: the wall-clock reading is kept as is.
func ParseLocalTime(s string) (LocalTime, error) {
	for _, layout := range localLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			y, mo, d := t.Date()
			return LocalTime{time.Date(y, mo, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)}, nil
		}
	}
	return LocalTime{}, fmt.Errorf("timestamp %q is not ISO-8601 (want e.g. 2022-01-01T10:15:00)", s)
}

// MarshalJSON writes the wall-clock time without a zone.
func (t LocalTime) MarshalJSON() ([]byte, error) {
	layout := LocalTimeFormat
	if t.Nanosecond() != 0 {
		layout += ".999999"
	}
	return []byte(`"` + t.Format(layout) + `"`), nil
}

// UnmarshalJSON reads an ISO-8601 string.
func (t *LocalTime) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp must be an ISO-8601 string: %w", err)
	}
	v, err := ParseLocalTime(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// String formats the time as MarshalJSON does, without quotes.
func (t LocalTime) String() string { return t.Format(LocalTimeFormat) }

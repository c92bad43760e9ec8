package mongodb_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/taxi"
)

func ptr[T any](v T) *T { return &v }

func samplePrediction(id string) mongodb.Prediction {
	p := mongodb.Prediction{
		ID: id, RideID: id,
		PUDO: "130_205", PUDOKnown: true, Prediction: 17.25, ModelVersion: "sha256:test",
		ReceivedAt: time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC),
	}
	pick, _ := taxi.ParseLocalTime("2021-02-01 00:34:03")
	p.SetTrip(&taxi.Trip{
		VendorID: ptr[int64](2), Pickup: &pick, StoreAndFwdFlag: ptr("N"),
		PULocationID: ptr[int64](130), DOLocationID: ptr[int64](205), TripDistance: ptr(3.66),
		FareAmount: ptr(14.0),
	})
	return p
}

func TestPredictionBSON(t *testing.T) {
	p := samplePrediction("r1")
	p.Extra = ptr(math.NaN())
	p.MtaTax = ptr(math.Inf(1))
	raw, err := p.MarshalBSON()
	if err != nil {
		t.Fatal(err)
	}
	doc := bson.Raw(raw)
	if err := doc.Validate(); err != nil {
		t.Fatal(err)
	}
	// Field order and names: _id, id, the TLC fields, then the prediction's.
	elems, err := doc.Elements()
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]string{mongodb.FieldID, mongodb.FieldRideID}, mongodb.TLCFields...),
		mongodb.FieldPUDO, mongodb.FieldPUDOKnown, mongodb.FieldPrediction, mongodb.FieldModelVersion, mongodb.FieldReceivedAt)
	if len(elems) != len(want) {
		t.Fatalf("%d fields, want %d", len(elems), len(want))
	}
	for i, e := range elems {
		if e.Key() != want[i] {
			t.Errorf("field %d is %q, want %q", i, e.Key(), want[i])
		}
	}
	for key, typ := range map[string]bson.Type{
		"VendorID": bson.TypeInt64, "lpep_pickup_datetime": bson.TypeString, "lpep_dropoff_datetime": bson.TypeNull,
		"trip_distance": bson.TypeDouble, "extra": bson.TypeNull, "mta_tax": bson.TypeNull, "ehail_fee": bson.TypeNull,
		"received_at": bson.TypeDateTime, "pu_do_known": bson.TypeBoolean,
	} {
		if got := doc.Lookup(key).Type; got != typ {
			t.Errorf("%s: type %v, want %v", key, got, typ)
		}
	}
	if s := doc.Lookup("lpep_pickup_datetime").StringValue(); s != "2021-02-01T00:34:03" {
		t.Errorf("pickup stored as %q", s)
	}

	// Decoding with the struct tags gives the document back (NaN/Inf became null).
	var back mongodb.Prediction
	if err := bson.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	p.Extra, p.MtaTax = nil, nil
	p.ReceivedAt = p.ReceivedAt.Truncate(time.Millisecond)
	if fmt.Sprintf("%+v", derefAll(back)) != fmt.Sprintf("%+v", derefAll(p)) {
		t.Errorf("round trip:\n got %+v\nwant %+v", derefAll(back), derefAll(p))
	}
	trip, err := back.Trip()
	if err != nil {
		t.Fatal(err)
	}
	if trip.Pickup == nil || trip.Pickup.String() != "2021-02-01T00:34:03" || trip.Dropoff != nil || *trip.PULocationID != 130 {
		t.Errorf("Trip() = %+v", trip)
	}
}

// derefAll renders pointer fields by value so that %+v compares contents.
func derefAll(p mongodb.Prediction) string {
	var b strings.Builder
	v := func(name string, x any) { fmt.Fprintf(&b, "%s=%v ", name, x) }
	f := func(x *float64) any {
		if x == nil {
			return nil
		}
		return *x
	}
	i := func(x *int64) any {
		if x == nil {
			return nil
		}
		return *x
	}
	s := func(x *string) any {
		if x == nil {
			return nil
		}
		return *x
	}
	v("id", p.ID+"/"+p.RideID)
	v("vendor", i(p.VendorID))
	v("pu", s(p.PickupDatetime))
	v("do", s(p.DropoffDatetime))
	v("flag", s(p.StoreAndFwdFlag))
	v("pul", i(p.PULocationID))
	v("dol", i(p.DOLocationID))
	v("dist", f(p.TripDistance))
	v("fare", f(p.FareAmount))
	v("extra", f(p.Extra))
	v("mta", f(p.MtaTax))
	v("rest", fmt.Sprint(p.PUDO, p.PUDOKnown, p.Prediction, p.ModelVersion, p.ReceivedAt.UTC()))
	return b.String()
}

// TestSetTripTimesSameBSON: a document whose timestamps AppendBSON formats
// (SetTripTimes) encodes byte for byte as one whose timestamps SetTrip formatted,
// for ordinary times, calendar edges, years outside 4 digits and absent timestamps.
func TestSetTripTimesSameBSON(t *testing.T) {
	times := []time.Time{
		time.Date(2021, 2, 1, 0, 34, 3, 0, time.UTC),
		time.Date(2020, 2, 29, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(12345, 6, 7, 8, 9, 10, 0, time.UTC),
		time.Date(-44, 3, 15, 12, 0, 0, 0, time.UTC),
		time.Date(2021, 7, 4, 1, 2, 3, 0, time.FixedZone("x", -5*3600)),
	}
	lt := func(tm time.Time) *taxi.LocalTime { return &taxi.LocalTime{Time: tm} }
	cases := []taxi.Trip{{}, {Pickup: lt(times[0])}, {Dropoff: lt(times[1])}}
	for i, a := range times {
		cases = append(cases, taxi.Trip{Pickup: lt(a), Dropoff: lt(times[(i+1)%len(times)]), TripDistance: ptr(1.5)})
	}
	for i, trip := range cases {
		var a, b mongodb.Prediction
		a.ID, b.ID = "x", "x"
		a.SetTrip(&trip)
		b.SetTripTimes(&trip)
		if b.PickupDatetime != nil || b.DropoffDatetime != nil {
			t.Fatalf("case %d: SetTripTimes set the string fields", i)
		}
		ra, err := a.MarshalBSON()
		if err != nil {
			t.Fatal(err)
		}
		rb, err := b.MarshalBSON()
		if err != nil {
			t.Fatal(err)
		}
		if string(ra) != string(rb) {
			t.Fatalf("case %d: SetTripTimes encodes\n%v\nSetTrip\n%v", i, bson.Raw(rb), bson.Raw(ra))
		}
		if err := bson.Raw(rb).Validate(); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		// SetTrip after SetTripTimes (a reused document) uses its own strings.
		b.SetTrip(&cases[0])
		if rc, _ := b.MarshalBSON(); bson.Raw(rc).Lookup(mongodb.FieldPickupDatetime).Type != bson.TypeNull {
			t.Fatalf("case %d: a reused document kept the previous pickup time", i)
		}
	}
}

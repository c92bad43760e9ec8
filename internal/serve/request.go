package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/modelmon/modelmon/internal/metrics"
	"github.com/modelmon/modelmon/internal/taxi"
)

// Input limits of POST /predict.
const (
	MaxIDLen      = 128 // bytes of a ride id
	MaxStringLen  = 64  // bytes of store_and_fwd_flag
	MinLocationID = 1   // TLC taxi zones are 1..265
	MaxLocationID = 265 //
	maxExactFloat = 1 << 53
	fieldPU       = "PULocationID"
	fieldDO       = "DOLocationID"
	fieldDistance = "trip_distance"
)

// rideRequest is the body of POST /predict: the TLC columns (taxi.Trip's JSON names)
// and an optional id. Every field is nullable; null is the same as absent.
type rideRequest struct {
	ID                   optID     `json:"id"`
	VendorID             optInt    `json:"VendorID"`
	Pickup               optTime   `json:"lpep_pickup_datetime"`
	Dropoff              optTime   `json:"lpep_dropoff_datetime"`
	StoreAndFwdFlag      optString `json:"store_and_fwd_flag"`
	RatecodeID           optInt    `json:"RatecodeID"`
	PULocationID         optInt    `json:"PULocationID"`
	DOLocationID         optInt    `json:"DOLocationID"`
	PassengerCount       optInt    `json:"passenger_count"`
	TripDistance         optFloat  `json:"trip_distance"`
	FareAmount           optFloat  `json:"fare_amount"`
	Extra                optFloat  `json:"extra"`
	MtaTax               optFloat  `json:"mta_tax"`
	TipAmount            optFloat  `json:"tip_amount"`
	TollsAmount          optFloat  `json:"tolls_amount"`
	EhailFee             optFloat  `json:"ehail_fee"`
	ImprovementSurcharge optFloat  `json:"improvement_surcharge"`
	TotalAmount          optFloat  `json:"total_amount"`
	PaymentType          optInt    `json:"payment_type"`
	TripType             optInt    `json:"trip_type"`
	CongestionSurcharge  optFloat  `json:"congestion_surcharge"`
}

// inputError is a 400 answer naming the offending field (when there is one).
type inputError struct {
	Field string
	Msg   string
}

func (e *inputError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return fmt.Sprintf("field %q: %s", e.Field, e.Msg)
}

// decodeRide parses and validates one ride into r (ranges: the plausible ranges
// of numerical fields, see Config.PlausibleRanges). Every error is an *inputError.
// The common body takes decodeFast (no reflection); any other, valid or not, is
// decoded by decodeRideStd, which words the errors.
func decodeRide(body []byte, ranges []plausibleRange, r *rideRequest) error {
	if decodeFast(body, r) {
		return r.validate(ranges)
	}
	// encoding/json keeps what it decodes into on the heap: r stays on the
	// caller's stack on the fast path.
	std := new(rideRequest)
	err := decodeRideStd(body, ranges, std)
	*r = *std
	return err
}

// decodeRideStd is decodeRide with encoding/json.
func decodeRideStd(body []byte, ranges []plausibleRange, r *rideRequest) error {
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == 'n' {
		return &inputError{Msg: "body must be a JSON object, got " + truncate(string(t))}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(r); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &inputError{Msg: "trailing data after the JSON object"}
	}
	return r.validate(ranges)
}

// plausibleRange is one of Config.PlausibleRanges; the server keeps them sorted
// by name (the first field out of its range is the one named).
type plausibleRange struct {
	name string
	r    metrics.Range
}

func sortedRanges(m map[string]metrics.Range) []plausibleRange {
	out := make([]plausibleRange, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		out = append(out, plausibleRange{name, m[name]})
	}
	return out
}

// jsonError turns an encoding/json error into a message that names the field.
func jsonError(err error) error {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ute):
		if ute.Field == "" {
			return &inputError{Msg: "body must be a JSON object, got " + ute.Value}
		}
		msg := ute.Value
		if ute.Type != markerType {
			msg = "want " + typeName(ute.Type) + ", got " + ute.Value
		}
		return &inputError{Field: ute.Field, Msg: msg}
	case errors.As(err, &se):
		return &inputError{Msg: fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se.Error())}
	case errors.Is(err, io.EOF):
		return &inputError{Msg: "empty body: want a JSON object"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &inputError{Msg: "malformed JSON: unexpected end of body"}
	}
	// "json: unknown field \"x\"" has no type of its own.
	const unknown = "json: unknown field "
	if s := err.Error(); len(s) > len(unknown) && s[:len(unknown)] == unknown {
		name, uerr := strconv.Unquote(s[len(unknown):])
		if uerr != nil {
			name = s[len(unknown):]
		}
		return &inputError{Field: name, Msg: "unknown field (the body takes the TLC green-taxi columns and id)"}
	}
	return &inputError{Msg: "malformed JSON: " + err.Error()}
}

func typeName(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.Struct:
		return "a JSON object"
	}
	return t.String()
}

// markerType marks an UnmarshalTypeError made by the opt* types: its Value is the
// whole message.
var markerType = reflect.TypeFor[inputError]()

func badValue(msg string) error {
	return &json.UnmarshalTypeError{Value: msg, Type: markerType}
}

func kindOf(b []byte) string {
	switch b[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

func isNull(b []byte) bool { return len(b) == 4 && string(b) == "null" }

// optInt is a nullable integer: a JSON number with an integral value (1 and 1.0 are
// both 1: pandas writes integer columns with missing values as floats).
type optInt struct {
	V   int64
	Set bool
}

func (o *optInt) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		*o = optInt{}
		return nil
	}
	if b[0] != '-' && (b[0] < '0' || b[0] > '9') {
		return badValue("want an integer, got " + kindOf(b))
	}
	if v, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		*o = optInt{V: v, Set: true}
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > maxExactFloat {
		return badValue("want an integer, got " + truncate(string(b)))
	}
	*o = optInt{V: int64(f), Set: true}
	return nil
}

// optFloat is a nullable finite number.
type optFloat struct {
	V   float64
	Set bool
}

func (o *optFloat) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		*o = optFloat{}
		return nil
	}
	if b[0] != '-' && (b[0] < '0' || b[0] > '9') {
		return badValue("want a number, got " + kindOf(b))
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return badValue("want a finite number, got " + truncate(string(b)))
	}
	*o = optFloat{V: f, Set: true}
	return nil
}

// optString is a nullable string of at most MaxStringLen bytes.
type optString struct {
	V   string
	Set bool
}

func (o *optString) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		*o = optString{}
		return nil
	}
	s, err := jsonString(b)
	if err != nil {
		return err
	}
	if len(s) > MaxStringLen {
		return badValue(fmt.Sprintf("longer than %d bytes", MaxStringLen))
	}
	*o = optString{V: s, Set: true}
	return nil
}

// optID is the ride id: a printable string of 1..MaxIDLen bytes.
type optID struct {
	V   string
	Set bool
}

func (o *optID) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		*o = optID{}
		return nil
	}
	s, err := jsonString(b)
	if err != nil {
		return err
	}
	if err := checkID(s); err != nil {
		return badValue(err.Error())
	}
	*o = optID{V: s, Set: true}
	return nil
}

// checkID accepts 1..MaxIDLen bytes of valid UTF-8, printable, with no space.
func checkID(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	if len(s) > MaxIDLen {
		return fmt.Errorf("longer than %d bytes", MaxIDLen)
	}
	for _, c := range s {
		if c == utf8.RuneError || !unicode.IsPrint(c) || unicode.IsSpace(c) {
			return errors.New("must be printable characters without spaces")
		}
	}
	return nil
}

// optTime is a nullable ISO-8601 timestamp (taxi.ParseLocalTime: 'T' or space).
type optTime struct {
	V   taxi.LocalTime
	Set bool
}

func (o *optTime) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		*o = optTime{}
		return nil
	}
	s, err := jsonString(b)
	if err != nil {
		return badValue("want an ISO-8601 timestamp string, got " + kindOf(b))
	}
	t, err := taxi.ParseLocalTime(s)
	if err != nil {
		return badValue("want an ISO-8601 timestamp such as 2021-02-01T10:15:00, got " + strconv.Quote(truncate(s)))
	}
	*o = optTime{V: t, Set: true}
	return nil
}

// jsonString decodes a JSON string literal; another JSON kind is an error.
func jsonString(b []byte) (string, error) {
	if b[0] != '"' {
		return "", badValue("want a string, got " + kindOf(b))
	}
	inner := b[1 : len(b)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return "", badValue("want a string")
	}
	return s, nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// validate checks the model's inputs, then the plausible ranges.
func (r *rideRequest) validate(ranges []plausibleRange) error {
	for _, f := range []struct {
		name string
		v    optInt
	}{{fieldPU, r.PULocationID}, {fieldDO, r.DOLocationID}} {
		if !f.v.Set {
			return &inputError{Field: f.name, Msg: "required (an integer taxi zone id, 1..265)"}
		}
		if f.v.V < MinLocationID || f.v.V > MaxLocationID {
			return &inputError{Field: f.name, Msg: fmt.Sprintf("want a taxi zone id in %d..%d, got %d", MinLocationID, MaxLocationID, f.v.V)}
		}
	}
	if !r.TripDistance.Set {
		return &inputError{Field: fieldDistance, Msg: "required (miles, a finite number >= 0)"}
	}
	if r.TripDistance.V < 0 {
		return &inputError{Field: fieldDistance, Msg: fmt.Sprintf("want a number >= 0, got %v", r.TripDistance.V)}
	}
	for _, pr := range ranges {
		f := r.floatField(pr.name)
		if f == nil || !f.Set {
			continue
		}
		if !pr.r.Contains(f.V) {
			return &inputError{Field: pr.name, Msg: fmt.Sprintf("%v is outside the plausible range %v (plausible_ranges in the monitoring config)", f.V, pr.r)}
		}
	}
	return nil
}

// floatField returns the numerical field of the request with that JSON name, nil
// if there is none.
func (r *rideRequest) floatField(name string) *optFloat {
	switch name {
	case fieldDistance:
		return &r.TripDistance
	case "fare_amount":
		return &r.FareAmount
	case "extra":
		return &r.Extra
	case "mta_tax":
		return &r.MtaTax
	case "tip_amount":
		return &r.TipAmount
	case "tolls_amount":
		return &r.TollsAmount
	case "ehail_fee":
		return &r.EhailFee
	case "improvement_surcharge":
		return &r.ImprovementSurcharge
	case "total_amount":
		return &r.TotalAmount
	case "congestion_surcharge":
		return &r.CongestionSurcharge
	}
	return nil
}

// tripValues backs the pointers of one taxi.Trip: one allocation per request
// instead of one per field.
type tripValues struct {
	i [7]int64
	f [10]float64
	t [2]taxi.LocalTime
	s string
}

// trip converts the request to a taxi.Trip (absent fields stay nil).
func (r *rideRequest) trip() taxi.Trip {
	var t taxi.Trip
	v := new(tripValues)
	ints := [...]struct {
		o   optInt
		dst **int64
	}{
		{r.VendorID, &t.VendorID}, {r.RatecodeID, &t.RatecodeID}, {r.PULocationID, &t.PULocationID},
		{r.DOLocationID, &t.DOLocationID}, {r.PassengerCount, &t.PassengerCount},
		{r.PaymentType, &t.PaymentType}, {r.TripType, &t.TripType},
	}
	for k, f := range ints {
		if f.o.Set {
			v.i[k] = f.o.V
			*f.dst = &v.i[k]
		}
	}
	floats := [...]struct {
		o   optFloat
		dst **float64
	}{
		{r.TripDistance, &t.TripDistance}, {r.FareAmount, &t.FareAmount}, {r.Extra, &t.Extra},
		{r.MtaTax, &t.MtaTax}, {r.TipAmount, &t.TipAmount}, {r.TollsAmount, &t.TollsAmount},
		{r.EhailFee, &t.EhailFee}, {r.ImprovementSurcharge, &t.ImprovementSurcharge},
		{r.TotalAmount, &t.TotalAmount}, {r.CongestionSurcharge, &t.CongestionSurcharge},
	}
	for k, f := range floats {
		if f.o.Set {
			v.f[k] = f.o.V
			*f.dst = &v.f[k]
		}
	}
	if r.Pickup.Set {
		v.t[0] = r.Pickup.V
		t.Pickup = &v.t[0]
	}
	if r.Dropoff.Set {
		v.t[1] = r.Dropoff.V
		t.Dropoff = &v.t[1]
	}
	if r.StoreAndFwdFlag.Set {
		v.s = r.StoreAndFwdFlag.V
		t.StoreAndFwdFlag = &v.s
	}
	return t
}

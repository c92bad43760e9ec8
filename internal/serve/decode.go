package serve

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/modelmon/modelmon/internal/taxi"
)

// decodeFast decodes the common /predict body without reflection: one JSON object
// whose keys are known field names (ASCII, matched case-insensitively as
// encoding/json does) with null, number or plain string values (no escapes),
// surrounded by JSON whitespace only. It reports false for anything else, valid or
// not, and also for any value the opt* types would refuse: the caller then decodes
// the body with decodeRideStd, which gives the answer (a ride or the error naming the
// field) exactly as before. When it reports true, r is what decodeRideStd would have
// decoded (FuzzPredictDecode compares the two).
func decodeFast(body []byte, r *rideRequest) bool {
	i := skipWS(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	i = skipWS(body, i+1)
	if i < len(body) && body[i] == '}' {
		return skipWS(body, i+1) == len(body)
	}
	for {
		// Key: a plain ASCII string.
		if i >= len(body) || body[i] != '"' {
			return false
		}
		var key [24]byte
		n := 0
		i++
		for ; i < len(body) && body[i] != '"'; i++ {
			c := body[i]
			if c < 0x20 || c >= 0x80 || c == '\\' || n == len(key) {
				return false
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			key[n] = c
			n++
		}
		if i >= len(body) {
			return false
		}
		i = skipWS(body, i+1)
		if i >= len(body) || body[i] != ':' {
			return false
		}
		i = skipWS(body, i+1)
		kind, lit, next := scanValue(body, i)
		if kind == 0 {
			return false
		}
		i = next
		if !r.setFolded(string(key[:n]), kind, lit) {
			return false
		}
		i = skipWS(body, i)
		if i >= len(body) {
			return false
		}
		switch body[i] {
		case ',':
			i = skipWS(body, i+1)
		case '}':
			return skipWS(body, i+1) == len(body)
		default:
			return false
		}
	}
}

// skipWS skips JSON whitespace.
func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// Kinds of scanValue.
const (
	kindNull   = 'n'
	kindNumber = '0'
	kindString = '"'
)

// scanValue scans the JSON value at b[i]: null, a number (lit: its text) or a
// string without escapes nor control characters (lit: its content, valid UTF-8). It
// returns kind 0 for anything else.
func scanValue(b []byte, i int) (kind byte, lit []byte, next int) {
	if i >= len(b) {
		return 0, nil, i
	}
	switch c := b[i]; {
	case c == 'n':
		if len(b)-i >= 4 && string(b[i:i+4]) == "null" {
			return kindNull, nil, i + 4
		}
		return 0, nil, i
	case c == '"':
		j := i + 1
		ascii := true
		for ; j < len(b) && b[j] != '"'; j++ {
			if b[j] < 0x20 || b[j] == '\\' {
				return 0, nil, i
			}
			if b[j] >= 0x80 {
				ascii = false
			}
		}
		if j >= len(b) || (!ascii && !utf8.Valid(b[i+1:j])) {
			return 0, nil, i
		}
		return kindString, b[i+1 : j], j + 1
	case c == '-' || ('0' <= c && c <= '9'):
		j := scanNumber(b, i)
		if j < 0 {
			return 0, nil, i
		}
		return kindNumber, b[i:j], j
	}
	return 0, nil, i
}

// scanNumber returns the end of the JSON number at b[i] (RFC 8259 grammar), -1 if
// there is none.
func scanNumber(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			return -1
		}
	}
	return i
}

// setFolded sets the field whose lower-cased JSON name is key; false for an unknown
// key, a value of the wrong kind, or a value its opt* type refuses.
func (r *rideRequest) setFolded(key string, kind byte, lit []byte) bool {
	switch key {
	case "id":
		return fastID(&r.ID, kind, lit)
	case "vendorid":
		return fastInt(&r.VendorID, kind, lit)
	case "lpep_pickup_datetime":
		return fastTime(&r.Pickup, kind, lit)
	case "lpep_dropoff_datetime":
		return fastTime(&r.Dropoff, kind, lit)
	case "store_and_fwd_flag":
		return fastString(&r.StoreAndFwdFlag, kind, lit)
	case "ratecodeid":
		return fastInt(&r.RatecodeID, kind, lit)
	case "pulocationid":
		return fastInt(&r.PULocationID, kind, lit)
	case "dolocationid":
		return fastInt(&r.DOLocationID, kind, lit)
	case "passenger_count":
		return fastInt(&r.PassengerCount, kind, lit)
	case "trip_distance":
		return fastFloat(&r.TripDistance, kind, lit)
	case "fare_amount":
		return fastFloat(&r.FareAmount, kind, lit)
	case "extra":
		return fastFloat(&r.Extra, kind, lit)
	case "mta_tax":
		return fastFloat(&r.MtaTax, kind, lit)
	case "tip_amount":
		return fastFloat(&r.TipAmount, kind, lit)
	case "tolls_amount":
		return fastFloat(&r.TollsAmount, kind, lit)
	case "ehail_fee":
		return fastFloat(&r.EhailFee, kind, lit)
	case "improvement_surcharge":
		return fastFloat(&r.ImprovementSurcharge, kind, lit)
	case "total_amount":
		return fastFloat(&r.TotalAmount, kind, lit)
	case "payment_type":
		return fastInt(&r.PaymentType, kind, lit)
	case "trip_type":
		return fastInt(&r.TripType, kind, lit)
	case "congestion_surcharge":
		return fastFloat(&r.CongestionSurcharge, kind, lit)
	}
	return false
}

// fastInt is optInt.UnmarshalJSON for what scanValue accepted.
func fastInt(o *optInt, kind byte, lit []byte) bool {
	switch kind {
	case kindNull:
		*o = optInt{}
		return true
	case kindNumber:
	default:
		return false
	}
	if v, ok := smallInt(lit); ok {
		*o = optInt{V: v, Set: true}
		return true
	}
	if v, err := strconv.ParseInt(string(lit), 10, 64); err == nil {
		*o = optInt{V: v, Set: true}
		return true
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > maxExactFloat {
		return false
	}
	*o = optInt{V: int64(f), Set: true}
	return true
}

// smallInt parses an optional minus and 1..18 digits (no overflow possible).
func smallInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// fastFloat is optFloat.UnmarshalJSON for what scanValue accepted.
func fastFloat(o *optFloat, kind byte, lit []byte) bool {
	switch kind {
	case kindNull:
		*o = optFloat{}
		return true
	case kindNumber:
	default:
		return false
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return false
	}
	*o = optFloat{V: f, Set: true}
	return true
}

// fastString is optString.UnmarshalJSON for what scanValue accepted.
func fastString(o *optString, kind byte, lit []byte) bool {
	switch kind {
	case kindNull:
		*o = optString{}
		return true
	case kindString:
	default:
		return false
	}
	if len(lit) > MaxStringLen {
		return false
	}
	*o = optString{V: string(lit), Set: true}
	return true
}

// fastID is optID.UnmarshalJSON for what scanValue accepted.
func fastID(o *optID, kind byte, lit []byte) bool {
	switch kind {
	case kindNull:
		*o = optID{}
		return true
	case kindString:
	default:
		return false
	}
	s := string(lit)
	if checkID(s) != nil {
		return false
	}
	*o = optID{V: s, Set: true}
	return true
}

// fastTime is optTime.UnmarshalJSON for what scanValue accepted.
func fastTime(o *optTime, kind byte, lit []byte) bool {
	switch kind {
	case kindNull:
		*o = optTime{}
		return true
	case kindString:
	default:
		return false
	}
	if t, ok := parseSeconds(lit); ok {
		*o = optTime{V: t, Set: true}
		return true
	}
	t, err := taxi.ParseLocalTime(string(lit))
	if err != nil {
		return false
	}
	*o = optTime{V: t, Set: true}
	return true
}

// parseSeconds parses the common timestamp form, 2006-01-02T15:04:05 or
// 2006-01-02 15:04:05 exactly, with the checks of time.Parse (day in its month);
// false for anything else, which taxi.ParseLocalTime then decides.
func parseSeconds(b []byte) (taxi.LocalTime, bool) {
	if len(b) != 19 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return taxi.LocalTime{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range b[i : i+n] {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, sec := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return taxi.LocalTime{}, false
	}
	// The last day of the month: day 0 of the next one.
	if d > time.Date(y, time.Month(mo)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return taxi.LocalTime{}, false
	}
	return taxi.LocalTime{Time: time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)}, true
}

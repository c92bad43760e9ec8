package mongodb

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/modelmon/modelmon/internal/taxi"
)

// Database and collection names: the prediction log written by the online service
// and read by the batch, and the batch's own collections.
const (
	Database          = "prediction_service"
	CollectionData    = "data"    // one document per prediction (Prediction)
	CollectionTarget  = "target"  // {_id: ride id, duration: minutes} (Target)
	CollectionReport  = "report"  // one batch result per (dataset, window) (batch.ResultDoc)
	CollectionStaging = "staging" // the batch pipeline's scratch chunks (batch.Chunk)
	CollectionWindows = "windows" // the batch's window ledger: one claim per window (batch.Claim)
	// CollectionReferenceCache holds scored references reused across runs: one
	// manifest per (reference content, model version, dataset config) and its chunks
	// (batch.RefCache). Not staging: no TTL, never deleted by a run's cleanup.
	CollectionReferenceCache = "reference_cache"
)

// Field names of a document in CollectionData. The TLC request fields keep their TLC
// column names (the JSON names of taxi.Trip).
const (
	FieldID           = "_id" // the ride id, also in FieldRideID
	FieldRideID       = "id"
	FieldPUDO         = "PU_DO"         // "<PULocationID>_<DOLocationID>"
	FieldPUDOKnown    = "pu_do_known"   // PU_DO was seen in training
	FieldPrediction   = "prediction"    // predicted duration, minutes
	FieldModelVersion = "model_version" // model.Model.Version
	FieldReceivedAt   = "received_at"   // BSON datetime (UTC, millisecond precision)
	// FieldStoredAt is the insertion stamp: a BSON datetime set by the store's writer
	// (package store) when the InsertMany that carries the document starts, including
	// a record drained from the spool after an outage (stamped at the drain). The batch
	// windows select on it; documents written before it existed have none and are
	// selected by received_at instead (see batch.FindLogged).
	FieldStoredAt = "stored_at"

	FieldVendorID             = "VendorID"
	FieldPickupDatetime       = "lpep_pickup_datetime"
	FieldDropoffDatetime      = "lpep_dropoff_datetime"
	FieldStoreAndFwdFlag      = "store_and_fwd_flag"
	FieldRatecodeID           = "RatecodeID"
	FieldPULocationID         = "PULocationID"
	FieldDOLocationID         = "DOLocationID"
	FieldPassengerCount       = "passenger_count"
	FieldTripDistance         = "trip_distance"
	FieldFareAmount           = "fare_amount"
	FieldExtra                = "extra"
	FieldMtaTax               = "mta_tax"
	FieldTipAmount            = "tip_amount"
	FieldTollsAmount          = "tolls_amount"
	FieldEhailFee             = "ehail_fee"
	FieldImprovementSurcharge = "improvement_surcharge"
	FieldTotalAmount          = "total_amount"
	FieldPaymentType          = "payment_type"
	FieldTripType             = "trip_type"
	FieldCongestionSurcharge  = "congestion_surcharge"
)

// Field names of a document in CollectionTarget.
const (
	FieldTargetID       = "_id"      // the ride id, as in CollectionData
	FieldTargetDuration = "duration" // observed duration, minutes
)

// TLCFields are the TLC request fields stored in every CollectionData document, in
// document order.
var TLCFields = []string{
	FieldVendorID, FieldPickupDatetime, FieldDropoffDatetime, FieldStoreAndFwdFlag,
	FieldRatecodeID, FieldPULocationID, FieldDOLocationID, FieldPassengerCount,
	FieldTripDistance, FieldFareAmount, FieldExtra, FieldMtaTax, FieldTipAmount,
	FieldTollsAmount, FieldEhailFee, FieldImprovementSurcharge, FieldTotalAmount,
	FieldPaymentType, FieldTripType, FieldCongestionSurcharge,
}

// TimeLayout is how the TLC timestamps are stored: naive wall-clock, no zone, whole
// seconds (taxi.LocalTimeFormat).
const TimeLayout = taxi.LocalTimeFormat

// Prediction is one document of CollectionData. Pointer fields are nullable: nil is
// stored as null. It encodes itself by hand (MarshalBSON: no reflection, non-finite
// floats become null) and decodes with the bson struct tags.
type Prediction struct {
	ID     string `bson:"_id"`
	RideID string `bson:"id"`

	VendorID             *int64   `bson:"VendorID"`
	PickupDatetime       *string  `bson:"lpep_pickup_datetime"`
	DropoffDatetime      *string  `bson:"lpep_dropoff_datetime"`
	StoreAndFwdFlag      *string  `bson:"store_and_fwd_flag"`
	RatecodeID           *int64   `bson:"RatecodeID"`
	PULocationID         *int64   `bson:"PULocationID"`
	DOLocationID         *int64   `bson:"DOLocationID"`
	PassengerCount       *int64   `bson:"passenger_count"`
	TripDistance         *float64 `bson:"trip_distance"`
	FareAmount           *float64 `bson:"fare_amount"`
	Extra                *float64 `bson:"extra"`
	MtaTax               *float64 `bson:"mta_tax"`
	TipAmount            *float64 `bson:"tip_amount"`
	TollsAmount          *float64 `bson:"tolls_amount"`
	EhailFee             *float64 `bson:"ehail_fee"`
	ImprovementSurcharge *float64 `bson:"improvement_surcharge"`
	TotalAmount          *float64 `bson:"total_amount"`
	PaymentType          *int64   `bson:"payment_type"`
	TripType             *int64   `bson:"trip_type"`
	CongestionSurcharge  *float64 `bson:"congestion_surcharge"`

	PUDO         string    `bson:"PU_DO"`
	PUDOKnown    bool      `bson:"pu_do_known"`
	Prediction   float64   `bson:"prediction"`
	ModelVersion string    `bson:"model_version"`
	ReceivedAt   time.Time `bson:"received_at"`

	// pickup and dropoff, set by SetTripTimes, are the timestamps AppendBSON
	// formats when PickupDatetime / DropoffDatetime are nil.
	pickup, dropoff *taxi.LocalTime
	// FieldStoredAt is not a field of Prediction: the writer appends it to the
	// encoded document (store.StampStoredAt) when it inserts it.
}

// Target is one document of CollectionTarget.
type Target struct {
	ID       string  `bson:"_id"`
	Duration float64 `bson:"duration"`
}

// SetTrip copies the TLC fields of t (timestamps formatted with TimeLayout).
func (p *Prediction) SetTrip(t *taxi.Trip) {
	p.setTLC(t)
	p.PickupDatetime = formatTime(t.Pickup)
	p.DropoffDatetime = formatTime(t.Dropoff)
	p.pickup, p.dropoff = nil, nil
}

// SetTripTimes is SetTrip without formatting the timestamps now: PickupDatetime and
// DropoffDatetime stay nil and AppendBSON (MarshalBSON) formats t's timestamps with
// TimeLayout straight into the document, which encodes the same as after SetTrip.
// It spares the online service two strings per record; t's timestamps must not
// change until the document is encoded.
func (p *Prediction) SetTripTimes(t *taxi.Trip) {
	p.setTLC(t)
	p.PickupDatetime, p.DropoffDatetime = nil, nil
	p.pickup, p.dropoff = t.Pickup, t.Dropoff
}

// setTLC copies the TLC fields of t but the timestamps.
func (p *Prediction) setTLC(t *taxi.Trip) {
	p.VendorID = t.VendorID
	p.StoreAndFwdFlag = t.StoreAndFwdFlag
	p.RatecodeID = t.RatecodeID
	p.PULocationID = t.PULocationID
	p.DOLocationID = t.DOLocationID
	p.PassengerCount = t.PassengerCount
	p.TripDistance = t.TripDistance
	p.FareAmount = t.FareAmount
	p.Extra = t.Extra
	p.MtaTax = t.MtaTax
	p.TipAmount = t.TipAmount
	p.TollsAmount = t.TollsAmount
	p.EhailFee = t.EhailFee
	p.ImprovementSurcharge = t.ImprovementSurcharge
	p.TotalAmount = t.TotalAmount
	p.PaymentType = t.PaymentType
	p.TripType = t.TripType
	p.CongestionSurcharge = t.CongestionSurcharge
}

// Trip returns the TLC fields as a taxi.Trip; a stored timestamp that does not parse
// is an error.
func (p *Prediction) Trip() (taxi.Trip, error) {
	t := taxi.Trip{
		VendorID:             p.VendorID,
		StoreAndFwdFlag:      p.StoreAndFwdFlag,
		RatecodeID:           p.RatecodeID,
		PULocationID:         p.PULocationID,
		DOLocationID:         p.DOLocationID,
		PassengerCount:       p.PassengerCount,
		TripDistance:         p.TripDistance,
		FareAmount:           p.FareAmount,
		Extra:                p.Extra,
		MtaTax:               p.MtaTax,
		TipAmount:            p.TipAmount,
		TollsAmount:          p.TollsAmount,
		EhailFee:             p.EhailFee,
		ImprovementSurcharge: p.ImprovementSurcharge,
		TotalAmount:          p.TotalAmount,
		PaymentType:          p.PaymentType,
		TripType:             p.TripType,
		CongestionSurcharge:  p.CongestionSurcharge,
	}
	var err error
	if t.Pickup, err = parseTime(FieldPickupDatetime, p.PickupDatetime); err != nil {
		return t, err
	}
	if t.Dropoff, err = parseTime(FieldDropoffDatetime, p.DropoffDatetime); err != nil {
		return t, err
	}
	return t, nil
}

func formatTime(t *taxi.LocalTime) *string {
	if t == nil {
		return nil
	}
	s := t.Format(TimeLayout)
	return &s
}

func parseTime(field string, s *string) (*taxi.LocalTime, error) {
	if s == nil {
		return nil, nil
	}
	t, err := taxi.ParseLocalTime(*s)
	if err != nil {
		return nil, fmt.Errorf("mongodb: %s: %w", field, err)
	}
	return &t, nil
}

// MarshalBSON implements bson.Marshaler.
func (p *Prediction) MarshalBSON() ([]byte, error) {
	return p.AppendBSON(make([]byte, 0, 640))
}

// AppendBSON appends the document to dst. Fields are written in a fixed order: _id,
// id, the TLC fields (TLCFields order), PU_DO, pu_do_known, prediction, model_version,
// received_at. NaN and ±Inf are written as null, never as numbers.
func (p *Prediction) AppendBSON(dst []byte) ([]byte, error) {
	idx, dst := bsoncore.AppendDocumentStart(dst)
	dst = bsoncore.AppendStringElement(dst, FieldID, p.ID)
	dst = bsoncore.AppendStringElement(dst, FieldRideID, p.RideID)
	dst = appendInt(dst, FieldVendorID, p.VendorID)
	dst = appendTime(dst, FieldPickupDatetime, p.PickupDatetime, p.pickup)
	dst = appendTime(dst, FieldDropoffDatetime, p.DropoffDatetime, p.dropoff)
	dst = appendString(dst, FieldStoreAndFwdFlag, p.StoreAndFwdFlag)
	dst = appendInt(dst, FieldRatecodeID, p.RatecodeID)
	dst = appendInt(dst, FieldPULocationID, p.PULocationID)
	dst = appendInt(dst, FieldDOLocationID, p.DOLocationID)
	dst = appendInt(dst, FieldPassengerCount, p.PassengerCount)
	dst = appendFloat(dst, FieldTripDistance, p.TripDistance)
	dst = appendFloat(dst, FieldFareAmount, p.FareAmount)
	dst = appendFloat(dst, FieldExtra, p.Extra)
	dst = appendFloat(dst, FieldMtaTax, p.MtaTax)
	dst = appendFloat(dst, FieldTipAmount, p.TipAmount)
	dst = appendFloat(dst, FieldTollsAmount, p.TollsAmount)
	dst = appendFloat(dst, FieldEhailFee, p.EhailFee)
	dst = appendFloat(dst, FieldImprovementSurcharge, p.ImprovementSurcharge)
	dst = appendFloat(dst, FieldTotalAmount, p.TotalAmount)
	dst = appendInt(dst, FieldPaymentType, p.PaymentType)
	dst = appendInt(dst, FieldTripType, p.TripType)
	dst = appendFloat(dst, FieldCongestionSurcharge, p.CongestionSurcharge)
	dst = bsoncore.AppendStringElement(dst, FieldPUDO, p.PUDO)
	dst = bsoncore.AppendBooleanElement(dst, FieldPUDOKnown, p.PUDOKnown)
	dst = appendFloat(dst, FieldPrediction, &p.Prediction)
	dst = bsoncore.AppendStringElement(dst, FieldModelVersion, p.ModelVersion)
	dst = bsoncore.AppendDateTimeElement(dst, FieldReceivedAt, p.ReceivedAt.UnixMilli())
	dst, err := bsoncore.AppendDocumentEnd(dst, idx)
	if err != nil {
		return nil, fmt.Errorf("mongodb: encode prediction %q: %w", p.ID, err)
	}
	return dst, nil
}

func appendInt(dst []byte, key string, v *int64) []byte {
	if v == nil {
		return bsoncore.AppendNullElement(dst, key)
	}
	return bsoncore.AppendInt64Element(dst, key, *v)
}

func appendFloat(dst []byte, key string, v *float64) []byte {
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return bsoncore.AppendNullElement(dst, key)
	}
	return bsoncore.AppendDoubleElement(dst, key, *v)
}

// appendTime appends s, or else t formatted with TimeLayout, or else null.
func appendTime(dst []byte, key string, s *string, t *taxi.LocalTime) []byte {
	if s != nil || t == nil {
		return appendString(dst, key, s)
	}
	dst = bsoncore.AppendHeader(dst, bsoncore.TypeString, key)
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = t.AppendFormat(dst, TimeLayout)
	dst = append(dst, 0)
	binary.LittleEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return dst
}

func appendString(dst []byte, key string, v *string) []byte {
	if v == nil {
		return bsoncore.AppendNullElement(dst, key)
	}
	return bsoncore.AppendStringElement(dst, key, *v)
}

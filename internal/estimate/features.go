package estimate

import (
	"fmt"
	"math"

	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/taxi"
)

// Record is one prediction of the monitored model with the inputs the estimator
// reads. Targets are not needed.
type Record struct {
	PULocationID int64
	DOLocationID int64
	TripDistance float64
	Prediction   float64 // the monitored model's prediction, minutes
}

// Nanny feature columns, in order. The pickup hour and weekday are deliberately
// absent: nannies that read them were less accurate on every later month (the
// hourly pattern of the reference, February 2021, does not carry over), and the
// live records carry no pickup time. implied_speed (trip_distance over the
// prediction: the speed the model assumes) and pu_is_do (pickup zone = dropoff
// zone) are functions of the other inputs; they were chosen on the reference alone
// (README, "Performance estimation").
const (
	featPU = iota
	featDO
	featDistance
	featPrediction
	featPUDOKnown
	featSpeed
	featSamePUDO
	numFeatures
)

var featureNames = [numFeatures]string{
	featPU:         "PULocationID",
	featDO:         "DOLocationID",
	featDistance:   "trip_distance",
	featPrediction: "prediction",
	featPUDOKnown:  "pu_do_in_model",
	featSpeed:      "implied_speed",
	featSamePUDO:   "pu_is_do",
}

var featureCategorical = [numFeatures]bool{featPU: true, featDO: true}

// rawColumns turns records into raw feature columns (NaN: missing). The
// PU_DO-known flag asks m, the monitored model. A zone id below 1 is not a TLC
// zone and is missing. A non-finite distance or prediction is an error.
func rawColumns(m *model.Model, recs []Record) ([][]float64, error) {
	cols := make([][]float64, numFeatures)
	for f := range cols {
		cols[f] = make([]float64, len(recs))
	}
	for i := range recs {
		r := &recs[i]
		if math.IsNaN(r.TripDistance) || math.IsInf(r.TripDistance, 0) {
			return nil, fmt.Errorf("record %d: trip_distance is %v", i, r.TripDistance)
		}
		if math.IsNaN(r.Prediction) || math.IsInf(r.Prediction, 0) {
			return nil, fmt.Errorf("record %d: prediction is %v", i, r.Prediction)
		}
		cols[featPU][i] = zone(r.PULocationID)
		cols[featDO][i] = zone(r.DOLocationID)
		cols[featDistance][i] = r.TripDistance
		cols[featPrediction][i] = r.Prediction
		if m.Known(taxi.PUDO(r.PULocationID, r.DOLocationID)) {
			cols[featPUDOKnown][i] = 1
		}
		cols[featSpeed][i] = impliedSpeed(r.TripDistance, r.Prediction)
		if r.PULocationID == r.DOLocationID {
			cols[featSamePUDO][i] = 1
		}
	}
	return cols, nil
}

// impliedSpeed is the speed the model's prediction implies, miles per minute, the
// prediction floored at half a minute.
func impliedSpeed(distance, prediction float64) float64 {
	return distance / math.Max(prediction, 0.5)
}

func zone(id int64) float64 {
	if id < 1 {
		return math.NaN()
	}
	return float64(id)
}

// FromTrip builds the record of a TLC trip and the model's prediction for it; ok is
// false when the trip lacks a model input (zones or distance).
func FromTrip(m *model.Model, t *taxi.Trip) (r Record, ok bool) {
	if t.PULocationID == nil || t.DOLocationID == nil || t.TripDistance == nil {
		return Record{}, false
	}
	r = Record{
		PULocationID: *t.PULocationID,
		DOLocationID: *t.DOLocationID,
		TripDistance: *t.TripDistance,
		Prediction:   m.Predict(taxi.PUDO(*t.PULocationID, *t.DOLocationID), []float64{*t.TripDistance}),
	}
	return r, true
}

// Labelled returns the records and durations (minutes) of the trips that pass the
// training filter (1 <= duration <= 60 and the model's inputs present), the rows
// on which the model's realized metrics are defined.
func Labelled(m *model.Model, trips []taxi.Trip) ([]Record, []float64) {
	var recs []Record
	var y []float64
	for i := range trips {
		t := &trips[i]
		if !t.KeepForTraining() {
			continue
		}
		r, _ := FromTrip(m, t)
		d, _ := t.DurationMinutes()
		recs = append(recs, r)
		y = append(y, d)
	}
	return recs, y
}

// Unlabelled returns the records of every trip that has the model's inputs,
// whatever its duration.
func Unlabelled(m *model.Model, trips []taxi.Trip) []Record {
	var recs []Record
	for i := range trips {
		if r, ok := FromTrip(m, &trips[i]); ok {
			recs = append(recs, r)
		}
	}
	return recs
}

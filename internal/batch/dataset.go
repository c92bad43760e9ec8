package batch

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/taxi"
)

// Dataset describes one monitored tabular model to the batch pipeline: which fields of
// its logged documents are the report's columns, where its targets are and how its
// reference file is read and scored.
//
// Logged documents are mapped generically: every report.Config numerical feature is
// read from the field of the same name (int or double; null or absent is missing),
// every categorical feature likewise (strings as they are, integers in decimal), the
// prediction from mongodb.FieldPrediction.
type Dataset struct {
	Name  string
	Title string
	// Report names the feature columns and drift options.
	Report report.Config
	// Collection holds the logged predictions, TargetCollection the targets
	// ({_id: id, mongodb.FieldTargetDuration: value}).
	Collection       string
	TargetCollection string
	// DefaultReference is used when a run names no reference file (relative paths are
	// resolved against DATA_DIR).
	DefaultReference string
	// LoadReference reads a reference file and scores it with m: features,
	// prediction and target of every reference row, and the source columns of
	// segments that are not features (nil if none), aligned with the rows.
	LoadReference func(ctx context.Context, path string, m *model.Model) (*report.Dataset, report.SegmentSource, error)
	// TargetInDomain reports whether a target value is measured by regression quality;
	// nil means every finite value. Rows outside keep their features for drift and
	// data quality.
	TargetInDomain func(v float64) bool
	// Segments are the segmentations reported per segment (report.segments);
	// relative lookup paths are resolved against DATA_DIR. A segment's source
	// column is read from the logged documents (a feature or any other field) and
	// from LoadReference's dataset or segment source.
	Segments []report.SegmentSpec
	// MinSegmentRows is the fewest rows a segment needs on each side for metrics
	// and a verdict (0: report.DefaultMinSegmentRows).
	MinSegmentRows int
}

// InDomain applies TargetInDomain.
func (d *Dataset) InDomain(v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	return d.TargetInDomain == nil || d.TargetInDomain(v)
}

// Fields are the logged fields that the batch reads for this dataset.
func (d *Dataset) Fields() []string {
	f := []string{mongodb.FieldID, mongodb.FieldReceivedAt, mongodb.FieldPrediction, mongodb.FieldModelVersion}
	f = append(f, d.Report.NumericalFeatures...)
	f = append(f, d.Report.CategoricalFeatures...)
	for _, s := range d.Segments {
		if src := s.Source(); !slices.Contains(f, src) {
			f = append(f, src)
		}
	}
	return f
}

// Taxi is the NYC green-taxi trip-duration model: trip_distance numerical,
// PULocationID and DOLocationID categorical, the reference a TLC parquet month scored
// with the model and filtered like its training data (1 <= duration <= 60 minutes);
// regression quality on current data covers targets in the same range. Segments:
// pickup and dropoff borough (data/taxi_zone_lookup.csv) and the pickup hour band
// (report.TaxiSegments).
func Taxi() Dataset {
	return Dataset{
		Name:             "taxi",
		Title:            "NYC green taxi trip duration",
		Report:           report.TaxiConfig(),
		Collection:       mongodb.CollectionData,
		TargetCollection: mongodb.CollectionTarget,
		DefaultReference: "data/green_tripdata_2021-01.parquet",
		LoadReference: func(ctx context.Context, path string, m *model.Model) (*report.Dataset, report.SegmentSource, error) {
			trips, err := taxi.ReadFile(ctx, path)
			if err != nil {
				return nil, nil, err
			}
			return report.TaxiDataset(trips, m), report.TaxiSegmentSource(trips), nil
		},
		TargetInDomain: func(v float64) bool { return v >= taxi.MinDuration && v <= taxi.MaxDuration },
		Segments:       report.TaxiSegments(report.TaxiLookupFile),
	}
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Dataset{"taxi": Taxi()}
)

// Register adds or replaces a dataset of the registry.
func Register(d Dataset) error {
	if err := ValidateDatasetName(d.Name); err != nil {
		return err
	}
	if d.LoadReference == nil || d.Collection == "" {
		return fmt.Errorf("dataset %q: LoadReference and Collection are required", d.Name)
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[d.Name] = d
	return nil
}

// Names lists the registered datasets, sorted.
func Names() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ErrUnknownDataset is wrapped by Lookup's error.
var ErrUnknownDataset = fmt.Errorf("unknown dataset")

// Lookup returns the registered dataset called name.
func Lookup(name string) (Dataset, error) {
	registryMu.RLock()
	d, ok := registry[name]
	registryMu.RUnlock()
	if !ok {
		return Dataset{}, fmt.Errorf("%w %q: this worker knows %s", ErrUnknownDataset, name, strings.Join(Names(), ", "))
	}
	return d, nil
}

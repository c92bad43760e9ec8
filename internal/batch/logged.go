package batch

import (
	"math"
	"path/filepath"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/report"
)

// ChunkBuilder turns logged documents into a chunk of rows of a dataset's columns.
type ChunkBuilder struct {
	ds   *Dataset
	segs []*report.Segmenter
	IDs  []string
	Data *report.Dataset
	num  map[string]float64
	cat  map[string]string
}

// NewChunkBuilder returns an empty builder for ds with room for rows rows; each row
// is labelled with its segment by segs (ds.Segmenters; nil: no segments), in the
// label columns of ds.StagingConfig.
func NewChunkBuilder(ds *Dataset, segs []*report.Segmenter, rows int) *ChunkBuilder {
	return &ChunkBuilder{
		ds:   ds,
		segs: segs,
		IDs:  make([]string, 0, rows),
		Data: newChunk(ds.StagingConfig(), rows),
		num:  map[string]float64{},
		cat:  map[string]string{},
	}
}

// Logged is what Add reports about one document.
type Logged struct {
	ID           string
	ReceivedAt   time.Time
	ModelVersion string
}

// Add appends one logged document. ok is false (and nothing is appended) when the
// document has no usable prediction or id.
func (b *ChunkBuilder) Add(doc bson.Raw) (l Logged, ok bool) {
	id, ok := idString(doc.Lookup(mongodb.FieldID))
	if !ok {
		return l, false
	}
	l.ID = id
	if t, ok := doc.Lookup(mongodb.FieldReceivedAt).TimeOK(); ok {
		l.ReceivedAt = t.UTC()
	}
	l.ModelVersion, _ = doc.Lookup(mongodb.FieldModelVersion).StringValueOK()
	pred, ok := NumValue(doc.Lookup(mongodb.FieldPrediction))
	if !ok {
		return l, false
	}
	clear(b.num)
	clear(b.cat)
	for _, f := range b.ds.Report.NumericalFeatures {
		if v, ok := NumValue(doc.Lookup(f)); ok {
			b.num[f] = v
		}
	}
	for _, f := range b.ds.Report.CategoricalFeatures {
		if v, ok := CatValue(doc.Lookup(f)); ok {
			b.cat[f] = v
		}
	}
	for _, sg := range b.segs {
		v, ok := segmentValue(doc.Lookup(sg.Spec.Source()))
		b.cat[SegmentLabelColumn(sg.Name())] = sg.LabelOf(v, ok)
	}
	b.Data.Append(report.Row{Num: b.num, Cat: b.cat, Prediction: pred})
	b.IDs = append(b.IDs, id)
	return l, true
}

// Dataset is the chunk's data: the logged columns and predictions (logged documents
// have no target: the join adds it).
func (b *ChunkBuilder) Dataset() *report.Dataset {
	b.Data.Target, b.Data.TargetValid = nil, nil
	return b.Data
}

// Reset empties the builder for the next chunk.
func (b *ChunkBuilder) Reset(rows int) {
	b.IDs = make([]string, 0, rows)
	b.Data = newChunk(b.ds.StagingConfig(), rows)
}

// Rows is the number of rows added since the last Reset.
func (b *ChunkBuilder) Rows() int { return b.Data.Rows }

func idString(v bson.RawValue) (string, bool) {
	switch v.Type {
	case bson.TypeString:
		s := v.StringValue()
		return s, s != ""
	case bson.TypeObjectID:
		return v.ObjectID().Hex(), true
	case bson.TypeInt32:
		return strconv.FormatInt(int64(v.Int32()), 10), true
	case bson.TypeInt64:
		return strconv.FormatInt(v.Int64(), 10), true
	}
	return "", false
}

// NumValue reads a numerical field: double, int32 or int64 (decimal128 too); null,
// absent, other types and non-finite values are missing.
func NumValue(v bson.RawValue) (float64, bool) {
	var f float64
	switch v.Type {
	case bson.TypeDouble:
		f = v.Double()
	case bson.TypeInt32:
		f = float64(v.Int32())
	case bson.TypeInt64:
		f = float64(v.Int64())
	case bson.TypeDecimal128:
		var err error
		if f, err = strconv.ParseFloat(v.Decimal128().String(), 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// CatValue reads a categorical field: strings as they are, integers (and integral
// doubles) in decimal, booleans as true/false; null and absent are missing.
func CatValue(v bson.RawValue) (string, bool) {
	switch v.Type {
	case bson.TypeString:
		return v.StringValue(), true
	case bson.TypeInt32:
		return strconv.FormatInt(int64(v.Int32()), 10), true
	case bson.TypeInt64:
		return strconv.FormatInt(v.Int64(), 10), true
	case bson.TypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "", false
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return strconv.FormatInt(int64(f), 10), true
		}
		return strconv.FormatFloat(f, 'g', -1, 64), true
	case bson.TypeBoolean:
		return strconv.FormatBool(v.Boolean()), true
	}
	return "", false
}

// ResolvePath resolves a relative path against dir ("" or "." keep it relative to
// the working directory).
func ResolvePath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) || dir == "" || dir == "." {
		return p
	}
	return filepath.Join(dir, p)
}

// newChunk returns an empty dataset of cfg's columns with room for rows rows.
func newChunk(cfg report.Config, rows int) *report.Dataset {
	d := report.NewDataset(cfg)
	d.Grow(rows)
	return d
}

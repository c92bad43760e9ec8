package report

// Operations on whole datasets: the one place where rows of datasets are sliced and
// joined (the batch assembles staged chunks with them, the live monitor its
// reference from a file and the stream).

// EmptyLike returns a dataset with d's feature columns and no rows (no predictions,
// no targets).
func (d *Dataset) EmptyLike() *Dataset {
	out := &Dataset{Numerical: make(map[string]*NumColumn, len(d.Numerical)), Categorical: make(map[string]*CatColumn, len(d.Categorical))}
	for name := range d.Numerical {
		out.Numerical[name] = &NumColumn{}
	}
	for name := range d.Categorical {
		out.Categorical[name] = &CatColumn{}
	}
	return out
}

// Grow makes room for n more rows in every feature column and in the predictions
// (if d has them or no rows yet) and the targets (if d has them), so that appending them does not reallocate.
// Validity slices grow as they appear.
func (d *Dataset) Grow(n int) {
	for _, c := range d.Numerical {
		c.Values = grow(c.Values, n)
	}
	for _, c := range d.Categorical {
		c.Values = grow(c.Values, n)
	}
	if d.Prediction != nil || d.Rows == 0 {
		d.Prediction = grow(d.Prediction, n)
	}
	if d.Target != nil {
		d.Target = grow(d.Target, n)
	}
}

func grow[T any](s []T, n int) []T {
	if cap(s)-len(s) >= n {
		if s == nil {
			return make([]T, 0, n)
		}
		return s
	}
	out := make([]T, len(s), len(s)+n)
	copy(out, s)
	return out
}

// Slice returns rows [from, to) of d as a new dataset that shares d's arrays (its
// slices are capped at to, so appending to the result never overwrites d). It
// panics if the range is out of bounds, like a slice expression.
func (d *Dataset) Slice(from, to int) *Dataset {
	out := &Dataset{Rows: to - from, Numerical: make(map[string]*NumColumn, len(d.Numerical)), Categorical: make(map[string]*CatColumn, len(d.Categorical))}
	for name, c := range d.Numerical {
		out.Numerical[name] = &NumColumn{Values: c.Values[from:to:to], Valid: sub(c.Valid, from, to)}
	}
	for name, c := range d.Categorical {
		out.Categorical[name] = &CatColumn{Values: c.Values[from:to:to], Valid: sub(c.Valid, from, to)}
	}
	out.Prediction = sub(d.Prediction, from, to)
	out.Target = sub(d.Target, from, to)
	out.TargetValid = sub(d.TargetValid, from, to)
	return out
}

// sub slices s, keeping nil as nil (a missing column, or "every value valid").
func sub[T any](s []T, from, to int) []T {
	if s == nil {
		return nil
	}
	return s[from:to:to]
}

// AppendDataset appends the rows of o to d. The rule for what a side does not have,
// which never invents a value:
//
//   - Features: d keeps its columns. A column of d that o lacks gets o's rows as
//     missing (Valid false); columns only in o are ignored.
//   - Targets: the result has targets if either side with rows has them. The rows of
//     a side without targets are appended as unknown (TargetValid false).
//   - Predictions: a Dataset has no validity for predictions (see Dataset), so the
//     result has predictions only if both sides with rows have them; otherwise
//     Prediction becomes nil and Compute skips prediction drift and regression
//     quality.
//   - A side with no rows changes nothing: appending to an empty dataset takes o's
//     predictions and targets as they are, and appending an empty o leaves d as it is.
//
// Validity slices stay nil while every value is valid.
func (d *Dataset) AppendDataset(o *Dataset) {
	if o == nil || o.Rows == 0 {
		return
	}
	n := d.Rows
	for name, c := range d.Numerical {
		if s := o.Numerical[name]; s != nil {
			c.Values = append(c.Values, s.Values...)
			c.Valid = appendValidity(c.Valid, s.Valid, n, o.Rows, true)
		} else {
			c.Values = append(c.Values, make([]float64, o.Rows)...)
			c.Valid = appendValidity(c.Valid, nil, n, o.Rows, false)
		}
	}
	for name, c := range d.Categorical {
		if s := o.Categorical[name]; s != nil {
			c.Values = append(c.Values, s.Values...)
			c.Valid = appendValidity(c.Valid, s.Valid, n, o.Rows, true)
		} else {
			c.Values = append(c.Values, make([]string, o.Rows)...)
			c.Valid = appendValidity(c.Valid, nil, n, o.Rows, false)
		}
	}

	switch {
	case o.Prediction == nil:
		d.Prediction = nil
	case n == 0:
		d.Prediction = append(d.Prediction[:0], o.Prediction...)
	case d.Prediction != nil:
		d.Prediction = append(d.Prediction, o.Prediction...)
	}

	hasD := n > 0 && d.Target != nil
	switch {
	case !hasD && o.Target == nil:
		d.Target, d.TargetValid = nil, nil
	default:
		if !hasD { // n rows (perhaps none) without targets
			d.Target = append(d.Target[:0], make([]float64, n)...)
			d.TargetValid = nil
			if n > 0 {
				d.TargetValid = make([]bool, n, n+o.Rows)
			}
		}
		if o.Target != nil {
			d.Target = append(d.Target, o.Target...)
			d.TargetValid = appendValidity(d.TargetValid, o.TargetValid, n, o.Rows, true)
		} else {
			d.Target = append(d.Target, make([]float64, o.Rows)...)
			d.TargetValid = appendValidity(d.TargetValid, nil, n, o.Rows, false)
		}
	}
	d.Rows += o.Rows
}

// appendValidity appends k validity flags (src, or k times srcValid when src is nil)
// to dst, which covers rows rows (nil: all valid). The result is nil while every
// row is valid.
func appendValidity(dst, src []bool, rows, k int, srcValid bool) []bool {
	if dst == nil && src == nil && srcValid {
		return nil
	}
	if dst == nil {
		dst = make([]bool, rows, rows+k)
		for i := range dst {
			dst[i] = true
		}
	}
	if src != nil {
		return append(dst, src...)
	}
	for range k {
		dst = append(dst, srcValid)
	}
	return dst
}

// Concat returns a new dataset with the rows of every part in order, joined by the
// rule of AppendDataset; its feature columns are those of the first non-nil part.
// Nil parts are skipped; it returns nil when every part is nil. The result shares
// no array with the parts.
func Concat(parts ...*Dataset) *Dataset {
	var out *Dataset
	rows := 0
	for _, p := range parts {
		if p == nil {
			continue
		}
		if out == nil {
			out = p.EmptyLike()
		}
		rows += p.Rows
	}
	if out == nil {
		return nil
	}
	out.Grow(rows)
	for _, p := range parts {
		out.AppendDataset(p)
	}
	return out
}

package metrics

import "errors"

// Sentinel errors. Functions wrap them with context (function, argument and
// index), so test with errors.Is.
var (
	// ErrEmpty is returned when a computation needs at least one value.
	ErrEmpty = errors.New("empty input")
	// ErrLength is returned when slices that must be parallel differ in length.
	ErrLength = errors.New("length mismatch")
	// ErrNonFinite is returned when an input value is NaN or ±Inf. Missing
	// values must be marked explicitly (a Valid mask), never encoded as NaN.
	ErrNonFinite = errors.New("non-finite value (NaN or Inf)")
	// ErrIncompatible is returned when merging summaries built with
	// different parameters.
	ErrIncompatible = errors.New("incompatible summaries")
	// ErrCorrupt is returned when a serialised summary is inconsistent.
	ErrCorrupt = errors.New("corrupt summary")
)

// Package metrics computes regression performance, per-column data quality and mergeable, JSON-serialisable column summaries with the semantics of numpy, pandas, scikit-learn and Evidently.
package metrics

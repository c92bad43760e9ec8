// Package profile holds the mergeable profile of a set of rows (the partitioned batch path's unit of work): per-column summaries, regression sums, a versioned JSON document, and the report computed from a merged profile.
package profile

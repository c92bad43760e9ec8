// Package batchapi is the contract between the BatchMonitoring workflow and its
// activities: the registered activity names, their input and result types and the
// application error types they fail with. The workflow (package workflows) calls the
// activities by these names, the activities (package activities) implement them, and
// neither imports the other. Everything here travels through Temporal's history as
// JSON: references to staged data, window bounds and counts, never records.
package batchapi

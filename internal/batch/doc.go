// Package batch is the domain code of batch monitoring shared by the Temporal
// activities, the worker and the starter CLI: the MongoDB schema it reads and writes
// (logged predictions, targets, staging and results), the dataset registry that maps a
// tabular model's logged documents to report columns, the staging format, windows and
// deterministic ids, and the configuration read from the environment and flags.
//
// Staging: the batch pipeline passes data between activities through the `staging`
// collection of MongoDB as columnar, binary-encoded chunks (see Chunk), never through
// Temporal's history. Any worker on any host can run any step, a retried step resumes
// from its heartbeat, and everything a run staged is deleted when its result is saved
// (a TTL index removes what a failed run left behind).
package batch

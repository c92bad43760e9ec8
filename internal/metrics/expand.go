package metrics

// Expand calls fn, in ascending order, with every distinct value the summary
// holds and its count: the exact values while Exact() is true, otherwise each
// non-empty sketch bucket's representative (within Alpha() relative of every
// value in it, clamped to [Min, Max]). The counts add up to N(). It lets a
// caller rebuild a sample with the same distribution (exact, or within the
// sketch's bounds) for code that needs values, not summaries.
func (s *NumSummary) Expand(fn func(v float64, count int64)) {
	if s.n == 0 {
		return
	}
	for _, a := range s.atoms() {
		fn(a.rep, a.c)
	}
}

// Package drift implements two-sample data-drift tests that reproduce scipy 1.10 and Evidently numerically.
package drift

// Package archtest holds only a test: the import rules that keep the layers of the
// module apart (see "The parts" in the README).
package archtest

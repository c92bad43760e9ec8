//go:build !unix

package spool

import "os"

// lockDir does not lock where flock is not available: one process per spool
// directory is then the operator's responsibility.
func lockDir(string) (*os.File, error) { return nil, nil }

func (s *Spool) unlock() {}

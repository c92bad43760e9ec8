package activities

import (
	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/reporthtml"
)

// defaultCompute and defaultRender are report.Compute and reporthtml.Render.
var (
	defaultCompute = report.Compute
	defaultRender  = reporthtml.Render
)

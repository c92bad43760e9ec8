package activities

import (
	"github.com/modelmon/modelmon/internal/report"
)

// defaultCompute and defaultRender are the report package's implementations.
var (
	defaultCompute = report.Compute
	defaultRender  = report.RenderHTML
)

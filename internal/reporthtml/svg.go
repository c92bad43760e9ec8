package reporthtml

import (
	"math"
	"strconv"
)

// px is an SVG coordinate, printed with at most one decimal.
type px float64

func (p px) String() string {
	r := math.Round(float64(p)*10) / 10
	if r == 0 {
		r = 0 // no "-0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// svgChart is drawn by the "svg" template: grid, bar groups (each with a tooltip),
// polylines, marks over the bars, dots, then text.
type svgChart struct {
	W, H   px
	Label  string
	Class  string
	Grid   []svgLine
	Groups []svgGroup
	Paths  []svgPath
	Marks  []svgLine
	Dots   []svgDot
	Texts  []svgText
}

type svgLine struct {
	X1, Y1, X2, Y2 px
	Class          string
}

type svgGroup struct {
	Tip   string
	Rects []svgRect
}

type svgRect struct {
	X, Y, W, H px
	Class      string
}

type svgPath struct{ Points, Class string }

type svgDot struct {
	X, Y, R    px
	Class, Tip string
}

type svgText struct {
	X, Y                px
	Anchor, Class, Text string
}

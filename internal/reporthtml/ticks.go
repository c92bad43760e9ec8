package reporthtml

import (
	"math"
	"strconv"
)

// niceTicks returns about n+1 round tick values covering [lo, hi] and the covered range.
func niceTicks(lo, hi float64, n int) (ticks []float64, tlo, thi float64) {
	if !isFinite(lo) || !isFinite(hi) {
		lo, hi = 0, 1
	}
	if hi <= lo {
		hi = lo + math.Max(math.Abs(lo), 1)
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*mag*(1+1e-9) {
			step = m * mag
			break
		}
	}
	i0, i1 := math.Floor(lo/step+1e-9), math.Ceil(hi/step-1e-9)
	for i := i0; i <= i1; i++ {
		ticks = append(ticks, i*step)
	}
	return ticks, i0 * step, i1 * step
}

// tickDecimals is the number of decimals that tells the ticks apart.
func tickDecimals(ticks []float64, scale float64) int {
	if len(ticks) < 2 {
		return 0
	}
	step := (ticks[1] - ticks[0]) * scale
	for d := 0; d < 8; d++ {
		if math.Abs(step*math.Pow(10, float64(d))-math.Round(step*math.Pow(10, float64(d)))) < 1e-6 {
			return d
		}
	}
	return 8
}

func tick(v float64, ticks []float64) string {
	d := tickDecimals(ticks, 1)
	if math.Abs(v) < 1e-12 {
		v = 0
	}
	if math.Abs(v) >= 1000 && d == 0 {
		return integer(int(math.Round(v)))
	}
	return strconv.FormatFloat(v, 'f', d, 64)
}

func tickPct(v float64, ticks []float64) string {
	if math.Abs(v) < 1e-12 {
		v = 0
	}
	return strconv.FormatFloat(v*100, 'f', tickDecimals(ticks, 100), 64) + "%"
}

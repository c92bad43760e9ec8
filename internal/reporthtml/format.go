package reporthtml

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/modelmon/modelmon/internal/report"
)

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// num formats a metric for reading: integers as such, thousands separators from
// 1,000, one decimal from 100, two from 1, three significant digits below 1 (trailing
// zeros dropped), exponent form for extreme magnitudes, "≈0" for rounding noise, "—"
// for NaN.
func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case math.IsInf(v, 1):
		return "∞"
	case math.IsInf(v, -1):
		return "-∞"
	case v == 0:
		return "0"
	}
	a := math.Abs(v)
	switch {
	case a < 1e-12:
		return "≈0" // rounding noise, such as the mean error of a least-squares fit
	case a >= 1000 && a < 1e12:
		return groupThousands(strconv.FormatFloat(v, 'f', 0, 64))
	case v == math.Trunc(v) && a < 1e12:
		return strconv.FormatFloat(v, 'f', 0, 64) // a count or an integer-valued column
	case a >= 1e12 || a < 1e-4:
		return strconv.FormatFloat(v, 'e', 2, 64)
	case a >= 1000:
		return groupThousands(strconv.FormatFloat(v, 'f', 0, 64))
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	prec := 2 - int(math.Floor(math.Log10(a)))
	s := strconv.FormatFloat(v, 'f', prec, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// axisNum formats an axis label with three significant digits.
func axisNum(v float64) string {
	if !isFinite(v) || math.Abs(v) >= 1000 || v == 0 {
		return num(v)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func numSuffix(v float64, suffix string) string {
	if !isFinite(v) {
		return num(v)
	}
	return num(v) + suffix
}

// signed is num with an explicit "+" on positive values.
func signed(v float64) string {
	if isFinite(v) && v > 0 {
		return "+" + num(v)
	}
	return num(v)
}

func pctPtr(p *float64) string {
	if p == nil {
		return "—"
	}
	return pct(*p)
}

func numPtr(p *float64) string {
	if p == nil {
		return "—"
	}
	return num(*p)
}

// pValue formats a p-value; "—" when the test has none.
func pValue(p *float64) string {
	switch {
	case p == nil || math.IsNaN(*p):
		return "—"
	case *p < 0.0001:
		return "<0.0001"
	}
	return strconv.FormatFloat(*p, 'f', 4, 64)
}

// pct formats a share in [0, 1] as a percentage with at most one decimal.
func pct(s float64) string {
	switch {
	case !isFinite(s):
		return "—"
	case s == 0:
		return "0%"
	case s > 0 && s < 0.001:
		return "<0.1%"
	case s < 1 && s > 0.999:
		return ">99.9%"
	}
	str := strconv.FormatFloat(s*100, 'f', 1, 64)
	return strings.TrimSuffix(str, ".0") + "%"
}

func integer(n int) string {
	return groupThousands(strconv.Itoa(n))
}

// rowCount formats a row count: "1 row", "2,345 rows".
func rowCount(n int) string {
	if n == 1 {
		return "1 row"
	}
	return integer(n) + " rows"
}

func integerOr(r *report.Regression, f func(*report.Regression) int) string {
	if r == nil {
		return "—"
	}
	return integer(f(r))
}

func shareOf(k, n int) string {
	if n <= 0 {
		return "—"
	}
	return pct(float64(k) / float64(n))
}

func countShare(k, n int) string {
	return integer(k) + " (" + shareOf(k, n) + ")"
}

func groupThousands(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	if len(s) <= 3 {
		return sign + s
	}
	var b strings.Builder
	head := len(s) % 3
	if head > 0 {
		b.WriteString(s[:head])
	}
	for i := head; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return sign + b.String()
}

// relChange formats (b-a)/|a| as a signed percentage; "" when undefined.
func relChange(a, b float64) string {
	if !isFinite(a) || !isFinite(b) || a == 0 {
		return ""
	}
	d := (b - a) / math.Abs(a)
	s := strconv.FormatFloat(d*100, 'f', 1, 64) + "%"
	if d > 0 {
		s = "+" + s
	}
	return s
}

func timeUTC(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func window(a, b time.Time) string {
	switch {
	case a.IsZero() && b.IsZero():
		return "—"
	case a.IsZero():
		return "until " + timeUTC(b)
	case b.IsZero():
		return "from " + timeUTC(a)
	}
	return a.UTC().Format("2006-01-02 15:04") + " → " + timeUTC(b)
}

// truncate shortens s to at most n runes, marking the cut with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

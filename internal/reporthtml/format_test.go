package reporthtml

import (
	"math"
	"testing"
)

func TestFormatters(t *testing.T) {
	p := func(x float64) *float64 { return &x }
	for _, c := range []struct{ got, want string }{
		{num(0), "0"}, {num(math.NaN()), "—"}, {num(1234567.8), "1,234,568"}, {num(-2500), "-2,500"},
		{num(123.456), "123.5"}, {num(6.789), "6.79"}, {num(0.05), "0.05"}, {num(0.012345), "0.0123"},
		{num(0.5), "0.5"}, {num(3e-7), "3.00e-07"}, {num(math.Inf(1)), "∞"}, {num(8), "8"}, {num(-80), "-80"},
		{num(1.86e-16), "≈0"}, {axisNum(-195.3125), "-195"}, {axisNum(5.12), "5.12"}, {axisNum(20.48), "20.5"},
		{pct(0), "0%"}, {pct(0.375), "37.5%"}, {pct(0.5), "50%"}, {pct(1), "100%"}, {pct(0.0004), "<0.1%"},
		{pValue(nil), "—"}, {pValue(p(0.04321)), "0.0432"}, {pValue(p(1e-9)), "<0.0001"},
		{integer(0), "0"}, {integer(999), "999"}, {integer(1000), "1,000"}, {integer(-1234567), "-1,234,567"},
		{signed(1.5), "+1.50"}, {signed(-1.5), "-1.50"},
		{truncate("abcdef", 4), "abc…"}, {truncate("ab", 4), "ab"},
		{px(-0.01).String(), "0"}, {px(12.345).String(), "12.3"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	ticks, lo, hi := niceTicks(-7.3, 18.2, 5)
	if lo > -7.3 || hi < 18.2 || len(ticks) < 4 || len(ticks) > 8 {
		t.Errorf("niceTicks(-7.3, 18.2) = %v [%v, %v]", ticks, lo, hi)
	}
}

package drift

import (
	"math"
	"sync"
	"testing"
)

// Independent, slow reference implementations checked against the fast
// code paths on random data with ties.

// naiveKS evaluates max/min of cdf1-cdf2 at every pooled value.
func naiveKS(a, b []float64) float64 {
	maxS, minS := math.Inf(-1), math.Inf(1)
	for _, x := range append(append([]float64(nil), a...), b...) {
		c1, c2 := 0, 0
		for _, v := range a {
			if v <= x {
				c1++
			}
		}
		for _, v := range b {
			if v <= x {
				c2++
			}
		}
		d := float64(c1)/float64(len(a)) - float64(c2)/float64(len(b))
		maxS, minS = max(maxS, d), min(minS, d)
	}
	return max(maxS, min(max(-minS, 0), 1))
}

// naiveCDFDistance integrates |F_a - F_b|^p between consecutive pooled values.
func naiveCDFDistance(p int, a, b []float64) float64 {
	all := sortedCopy(append(append([]float64(nil), a...), b...))
	s := 0.0
	for k := 0; k+1 < len(all); k++ {
		x := all[k]
		c1, c2 := 0, 0
		for _, v := range a {
			if v <= x {
				c1++
			}
		}
		for _, v := range b {
			if v <= x {
				c2++
			}
		}
		d := math.Abs(float64(c1)/float64(len(a)) - float64(c2)/float64(len(b)))
		if p == 2 {
			d *= d
		}
		s += d * (all[k+1] - x)
	}
	if p == 2 {
		return math.Sqrt(s)
	}
	return s
}

func randomSample(r *xorshift, n int, ties bool) []float64 {
	x := make([]float64, n)
	for i := range x {
		if ties {
			x[i] = math.Floor(r.uniform()*7) - 3
		} else {
			x[i] = r.uniform()*4 - 1
		}
	}
	return x
}

func TestMergesAgainstNaive(t *testing.T) {
	r := newXorshift(42)
	for it := 0; it < 400; it++ {
		n, m := 1+int(r.uniform()*40), 1+int(r.uniform()*40)
		ties := it%2 == 0
		a, b := randomSample(r, n, ties), randomSample(r, m, ties)
		if it%7 == 0 { // one sample entirely above the other
			for i := range b {
				b[i] += 10
			}
		}
		as, bs := sortedCopy(a), sortedCopy(b)
		if got, want := ksStatSorted(as, bs), naiveKS(a, b); got != want {
			t.Fatalf("KS statistic %v, naive %v (n=%d m=%d)", got, want, n, m)
		}
		for _, p := range []int{1, 2} {
			got, want := cdfDistanceSorted(p, as, bs), naiveCDFDistance(p, a, b)
			if !closeTo(got, want, 1e-13, 1e-15) {
				t.Fatalf("cdf distance p=%d: %v, naive %v", p, got, want)
			}
		}
	}
}

// TestKSExactAgainstPathCount checks the exact two-sample p-value against a
// direct count of lattice paths leaving the band |i*n2 - j*n1| < h*g.
func TestKSExactAgainstPathCount(t *testing.T) {
	r := newXorshift(7)
	for it := 0; it < 300; it++ {
		n1, n2 := 1+int(r.uniform()*60), 1+int(r.uniform()*60)
		g := gcd(n1, n2)
		lcm := n1 / g * n2
		h := 1 + int(r.uniform()*float64(lcm))
		inside := make([][]float64, n1+1)
		for i := range inside {
			inside[i] = make([]float64, n2+1)
		}
		for i := 0; i <= n1; i++ {
			for j := 0; j <= n2; j++ {
				if d := i*n2 - j*n1; d >= h*g || -d >= h*g {
					continue
				}
				if i == 0 && j == 0 {
					inside[i][j] = 1
					continue
				}
				if i > 0 {
					inside[i][j] += inside[i-1][j]
				}
				if j > 0 {
					inside[i][j] += inside[i][j-1]
				}
			}
		}
		want := 1 - inside[n1][n2]/binomFloat(n1+n2, n1)
		var got float64
		if n1 == n2 {
			got = ksOutsideSquare(n1, h)
		} else {
			got = ksOuterInside(n1, n2, g, h)
		}
		if !closeTo(got, want, 1e-11, 1e-14) {
			t.Errorf("n1=%d n2=%d h=%d: exact p %v, path count %v", n1, n2, h, got, want)
		}
	}
}

// TestKStwoGrid evaluates the Kolmogorov survival function over a fine grid
// (every branch of _kolmogn) and checks range and monotonicity.
func TestKStwoGrid(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 7, 10, 25, 60, 99, 139, 140, 141, 150, 400, 2000} {
		prev := 1.0
		for k := 1; k < 2000; k++ {
			x := float64(k) / 2000
			p := kstwoSF(x, n)
			if !(p >= 0 && p <= 1) {
				t.Fatalf("kstwo.sf(%v, %d) = %v", x, n, p)
			}
			if p > prev+1e-12 {
				t.Fatalf("kstwo.sf not decreasing at n=%d x=%v: %v > %v", n, x, p, prev)
			}
			prev = p
		}
	}
}

func TestConcurrentRuns(t *testing.T) {
	r := newXorshift(5)
	ref := map[string]Column{"x": {Num: randomSample(r, 6000, false)}, "c": {Kind: Categorical, Cat: []string{"a", "b", "b"}}}
	cur := map[string]Column{"x": {Num: randomSample(r, 7000, false)}, "c": {Kind: Categorical, Cat: []string{"a", "b", "c"}}}
	want, err := Dataset([]string{"x", "c"}, ref, cur, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				got, err := Dataset([]string{"x", "c"}, ref, cur, Options{})
				if err != nil || got.Columns[0].Statistic != want.Columns[0].Statistic {
					t.Errorf("concurrent run differs: %v", err)
				}
			}
		}()
	}
	wg.Wait()
}

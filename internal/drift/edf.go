package drift

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// AndersonKSamp performs the two-sample Anderson-Darling test of
// scipy.stats.anderson_ksamp([x, y], midrank=True) (Scholz & Stephens 1987,
// "K-Sample Anderson-Darling Tests", JASA 82(399)) and returns the
// normalised statistic
//
//	A2 = (A2akN - (k-1)) / sigma_N
//
// and the p-value interpolated as scipy 1.10 does: a quadratic fitted
// (least squares, np.polyfit) to log(significance) against the tabulated
// critical values, evaluated at A2, capped to [0.001, 0.25] outside the
// table (scipy warns "p-value capped/floored"). A2akN uses midranks for
// ties (eq. 7 of the paper).
//
// Errors: empty samples, fewer than two distinct values (scipy raises), and
// fewer than 4 pooled observations, where scipy's variance formula divides
// by (N-1)(N-2)(N-3) = 0 and returns a meaningless p = 0.25.
func AndersonKSamp(x, y []float64) (a2, p float64, err error) {
	if err := checkPair(x, y); err != nil {
		return 0, 0, fmt.Errorf("anderson: %w", err)
	}
	xs, ys := sortedCopy(x), sortedCopy(y)
	N := len(xs) + len(ys)
	if N < 4 {
		return 0, 0, fmt.Errorf("anderson: %d pooled observations, need at least 4: %w", N, ErrTooSmall)
	}
	// Walk the distinct pooled values z_j with, for each, lj (pooled
	// multiplicity), the number of pooled values below, and per sample the
	// count <= z_j and the multiplicity of z_j.
	samples := [2][]float64{xs, ys}
	var inner [2][]float64
	distinct := 0
	noTies := true
	{
		i, j := 0, 0
		for i < len(xs) || j < len(ys) {
			var v float64
			if j == len(ys) || (i < len(xs) && xs[i] <= ys[j]) {
				v = xs[i]
			} else {
				v = ys[j]
			}
			c := 0
			for i < len(xs) && xs[i] == v {
				i++
				c++
			}
			for j < len(ys) && ys[j] == v {
				j++
				c++
			}
			if c > 1 {
				noTies = false
			}
			distinct++
		}
	}
	if distinct < 2 {
		return 0, 0, fmt.Errorf("anderson: needs more than one distinct observation: %w", ErrUndefined)
	}
	fN := float64(N)
	for s := range samples {
		inner[s] = make([]float64, 0, distinct)
	}
	{
		i, j := 0, 0
		below := 0
		for i < len(xs) || j < len(ys) {
			var v float64
			if j == len(ys) || (i < len(xs) && xs[i] <= ys[j]) {
				v = xs[i]
			} else {
				v = ys[j]
			}
			i0, j0 := i, j
			for i < len(xs) && xs[i] == v {
				i++
			}
			for j < len(ys) && ys[j] == v {
				j++
			}
			l := float64((i - i0) + (j - j0))
			if noTies {
				l = 1
			}
			Bj := float64(below) + l/2.
			den := Bj*(fN-Bj) - fN*l/4.
			for s, cnt := range [2][2]int{{i, i - i0}, {j, j - j0}} {
				ns := float64(len(samples[s]))
				Mij := float64(cnt[0]) - float64(cnt[1])/2.
				d := fN*Mij - Bj*ns
				inner[s] = append(inner[s], l/fN*(d*d)/den)
			}
			below += (i - i0) + (j - j0)
		}
	}
	A2kN := 0.
	for s := range samples {
		A2kN += npSum(inner[s]) / float64(len(samples[s]))
	}
	A2kN *= (fN - 1.) / fN

	const k = 2.0
	H := npSum([]float64{1. / float64(len(xs)), 1. / float64(len(ys))})
	// hs_cs = cumsum(1/arange(N-1, 1, -1)); h = hs_cs[-1] + 1;
	// g = sum(hs_cs / arange(2, N)).
	hs := make([]float64, N-2)
	c := 0.0
	for t := range hs {
		c += 1. / float64(N-1-t)
		hs[t] = c
	}
	h := hs[len(hs)-1] + 1
	for t := range hs {
		hs[t] /= float64(t + 2)
	}
	g := npSum(hs)
	a := (4*g-6)*(k-1) + (10-6*g)*H
	b := (2*g-4)*k*k + 8*h*k + (2*g-14*h-4)*H - 8*h + 4*g - 6
	cc := (6*h+2*g-2)*k*k + (4*h-4*g+6)*k + (2*h-6)*H + 4*h
	d := (2*h+6)*k*k - 4*h*k
	sigmasq := (a*fN*fN*fN + b*fN*fN + cc*fN + d) / ((fN - 1.) * (fN - 2.) * (fN - 3.))
	m := k - 1
	a2 = (A2kN - m) / math.Sqrt(sigmasq)
	return a2, andersonPValue(a2, m), nil
}

// andersonPValue interpolates scipy's significance table (Scholz & Stephens
// Table 2 coefficients) for the normalised statistic a2 with m = k-1.
func andersonPValue(a2, m float64) float64 {
	b0 := [7]float64{0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085}
	b1 := [7]float64{-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615}
	b2 := [7]float64{-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154}
	sig := [7]float64{0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001}
	var crit [7]float64
	for i := range crit {
		crit[i] = b0[i] + b1[i]/math.Sqrt(m) + b2[i]/m
	}
	if a2 < slices.Min(crit[:]) {
		return 0.25
	}
	if a2 > slices.Max(crit[:]) {
		return 0.001
	}
	var logSig [7]float64
	for i := range sig {
		logSig[i] = math.Log(sig[i])
	}
	coef := polyfit2(crit[:], logSig[:])
	return math.Exp((coef[0]*a2+coef[1])*a2 + coef[2])
}

// polyfit2 is np.polyfit(x, y, 2): least squares on the column-scaled
// Vandermonde matrix, coefficients highest degree first.
func polyfit2(x, y []float64) [3]float64 {
	n := len(x)
	A := mat.NewDense(n, 3, nil)
	for i, v := range x {
		A.Set(i, 0, v*v)
		A.Set(i, 1, v)
		A.Set(i, 2, 1)
	}
	var scale [3]float64
	for j := 0; j < 3; j++ {
		s := 0.0
		for i := 0; i < n; i++ {
			s += A.At(i, j) * A.At(i, j)
		}
		scale[j] = math.Sqrt(s)
		for i := 0; i < n; i++ {
			A.Set(i, j, A.At(i, j)/scale[j])
		}
	}
	var qr mat.QR
	qr.Factorize(A)
	var c mat.Dense
	if err := qr.SolveTo(&c, false, mat.NewDense(n, 1, append([]float64(nil), y...))); err != nil {
		panic(err) // the Vandermonde matrix of distinct points has full rank
	}
	return [3]float64{c.At(0, 0) / scale[0], c.At(1, 0) / scale[1], c.At(2, 0) / scale[2]}
}

// CramerVonMises performs the two-sample Cramér-von Mises test of
// scipy.stats.cramervonmises_2samp(x, y, method="auto") (Anderson 1962;
// Evidently's "cramer_von_mises" is a copy of it) and returns
//
//	T = U/(nm(n+m)) - (4nm-1)/(6(n+m)),  U = n sum_i (r_i - i)^2 + m sum_j (s_j - j)^2
//
// with r, s the sorted pooled midranks of x and y, and the p-value: exact
// (frequency-table recursion of Xiao, Gordon & Yakovlev 2006) when
// max(n, m) <= 20, otherwise the limiting distribution of the normalised
// statistic (Csörgő & Faraway 1996, series summed until a term is < 1e-7,
// as scipy). Both samples need at least 2 observations.
func CramerVonMises(x, y []float64) (t, p float64, err error) {
	if err := checkPair(x, y); err != nil {
		return 0, 0, fmt.Errorf("cramer_von_mises: %w", err)
	}
	if len(x) <= 1 || len(y) <= 1 {
		return 0, 0, fmt.Errorf("cramer_von_mises: sizes %d and %d, each needs at least two observations: %w", len(x), len(y), ErrTooSmall)
	}
	xs, ys := sortedCopy(x), sortedCopy(y)
	nx, ny := len(xs), len(ys)
	rx, ry, _ := midranks(xs, ys)
	sq := func(r []float64) float64 {
		d := make([]float64, len(r))
		for i, v := range r {
			e := v - float64(i+1)
			d[i] = e * e
		}
		return npSum(d)
	}
	u := float64(nx) * sq(rx)
	u += float64(ny) * sq(ry)
	k, N := float64(nx*ny), float64(nx+ny)
	t = u/(k*N) - (4*k-1)/(6*N)
	if max(nx, ny) <= 20 {
		return t, cvmExactP(u, nx, ny), nil
	}
	et := (1 + 1/N) / 6
	vt := (N + 1) * (4*k*N - 3*(float64(nx*nx)+float64(ny*ny)) - 2*k)
	vt = vt / (45 * N * N * 4 * k)
	tn := 1.0/6 + (t-et)/math.Sqrt(45*vt)
	if tn < 0.003 {
		return t, 1, nil
	}
	return t, max(0, 1-cdfCvMInf(tn)), nil
}

// cdfCvMInf is the limiting CDF of the Cramér-von Mises statistic
// (Csörgő & Faraway 1996, eq. 1.2), scipy's _cdf_cvm_inf.
func cdfCvMInf(x float64) float64 {
	tot := 0.0
	for k := 0; ; k++ {
		lg1, _ := math.Lgamma(float64(k) + 0.5)
		lg2, _ := math.Lgamma(float64(k) + 1)
		u := math.Exp(lg1-lg2) / (math.Pow(math.Pi, 1.5) * math.Sqrt(x))
		y := float64(4*k + 1)
		q := y * y / (16 * x)
		b := besselK(0.25, q)
		z := u * math.Sqrt(y) * math.Exp(-q) * b
		tot += z
		if !(math.Abs(z) >= 1e-7) {
			return tot
		}
	}
}

// cvmExactP is scipy's _pval_cvm_2samp_exact: the exact null probability
// that the statistic U is at least u, by the recursion of Xiao et al. on
// frequency tables of g_{u,v}.
func cvmExactP(s float64, m, n int) float64 {
	lcm := m / gcd(m, n) * n
	a := int64(lcm / m)
	b := int64(lcm / n)
	mn := int64(m * n)
	num := float64(int64(lcm)*int64(lcm)*int64(m+n)) * (6*s - float64(mn*(4*mn-1)))
	zeta := pyFloorDiv(num, float64(6*mn*mn))
	type fq struct{ v, f int64 }
	gs := make([][]fq, m+1)
	gs[0] = []fq{{0, 1}}
	for u := int64(0); u <= int64(n); u++ {
		next := make([][]fq, m+1)
		var tmp []fq
		for v, g := range gs {
			// merge tmp and g (both sorted by value), adding frequencies
			merged := make([]fq, 0, len(tmp)+len(g))
			i, j := 0, 0
			for i < len(tmp) || j < len(g) {
				switch {
				case j == len(g) || (i < len(tmp) && tmp[i].v < g[j].v):
					merged = append(merged, tmp[i])
					i++
				case i == len(tmp) || g[j].v < tmp[i].v:
					merged = append(merged, g[j])
					j++
				default:
					merged = append(merged, fq{tmp[i].v, tmp[i].f + g[j].f})
					i++
					j++
				}
			}
			d := a*int64(v) - b*u
			for i := range merged {
				merged[i].v += d * d
			}
			tmp = merged
			next[v] = tmp
		}
		gs = next
	}
	comb := 1.0
	{
		// math.comb(m+n, m) is exact; it stays below 2^53 for m, n <= 20.
		c := int64(1)
		for i := 1; i <= m; i++ {
			c = c * int64(n+i) / int64(i)
		}
		comb = float64(c)
	}
	var sum int64
	for _, e := range gs[m] {
		if float64(e.v) >= zeta {
			sum += e.f
		}
	}
	return float64(sum) / comb
}

// pyFloorDiv is Python's float floor division vx // wx.
func pyFloorDiv(vx, wx float64) float64 {
	mod := math.Mod(vx, wx)
	div := (vx - mod) / wx
	if mod != 0 && (wx < 0) != (mod < 0) {
		div -= 1.0
	}
	if div == 0 {
		return math.Copysign(0, vx/wx)
	}
	fd := math.Floor(div)
	if div-fd > 0.5 {
		fd += 1.0
	}
	return fd
}

// EppsSingleton performs scipy.stats.epps_singleton_2samp(x, y) with the
// default t = (0.4, 0.8) (Epps & Singleton 1986, "An omnibus test for the
// two-sample problem using the empirical characteristic function"): the
// empirical characteristic functions at t/(iqr/2) are compared through
// W = n g^T pinv(S) g, with a small-sample correction when max(n1, n2) < 25,
// and p is the chi-squared(rank) survival function at W. Evidently's "es"
// test additionally refuses a zero pooled interquartile range. Each sample
// needs at least 5 observations.
func EppsSingleton(x, y []float64) (w, p float64, err error) {
	if err := checkPair(x, y); err != nil {
		return 0, 0, fmt.Errorf("es: %w", err)
	}
	nx, ny := len(x), len(y)
	if nx < 5 || ny < 5 {
		return 0, 0, fmt.Errorf("es: sizes %d and %d, each needs at least 5 observations: %w", nx, ny, ErrTooSmall)
	}
	pooled := append(append(make([]float64, 0, nx+ny), x...), y...)
	spread := iqr(sortedCopy(pooled))
	if spread == 0 {
		return 0, 0, fmt.Errorf("es: the pooled interquartile range is zero: %w", ErrUndefined)
	}
	n := float64(nx + ny)
	sigma := spread / 2
	ts := [2]float64{0.4 / sigma, 0.8 / sigma}
	// per-sample means and biased covariances of g(v) = (cos t1 v, cos t2 v, sin t1 v, sin t2 v)
	stats := func(v []float64) (mean [4]float64, cov *mat.SymDense) {
		g := make([][4]float64, len(v))
		cols := make([][]float64, 4)
		for c := range cols {
			cols[c] = make([]float64, len(v))
		}
		for i, e := range v {
			g[i] = [4]float64{math.Cos(ts[0] * e), math.Cos(ts[1] * e), math.Sin(ts[0] * e), math.Sin(ts[1] * e)}
			for c := 0; c < 4; c++ {
				cols[c][i] = g[i][c]
			}
		}
		for c := 0; c < 4; c++ {
			mean[c] = npMean(cols[c])
		}
		cov = mat.NewSymDense(4, nil)
		fn := float64(len(v))
		for r := 0; r < 4; r++ {
			for c := r; c < 4; c++ {
				prod := make([]float64, len(v))
				for i := range v {
					prod[i] = (g[i][r] - mean[r]) * (g[i][c] - mean[c])
				}
				cov.SetSym(r, c, npSum(prod)/fn)
			}
		}
		return mean, cov
	}
	mx, cx := stats(x)
	my, cy := stats(y)
	est := mat.NewDense(4, 4, nil)
	for r := 0; r < 4; r++ {
		for c := 0; c < 4; c++ {
			est.Set(r, c, (n/float64(nx))*cx.At(r, c)+(n/float64(ny))*cy.At(r, c))
		}
	}
	pinv, ok := pseudoInverse(est)
	if !ok {
		return 0, 0, fmt.Errorf("es: SVD of the covariance estimate failed: %w", ErrUndefined)
	}
	rank := matrixRank(pinv)
	var gd [4]float64
	for c := range gd {
		gd[c] = mx[c] - my[c]
	}
	quad := 0.0
	for r := 0; r < 4; r++ {
		s := 0.0
		for c := 0; c < 4; c++ {
			s += pinv.At(r, c) * gd[c]
		}
		quad += gd[r] * s
	}
	w = n * quad
	if max(nx, ny) < 25 {
		corr := 1.0 / (1.0 + math.Pow(n, -0.45) + 10.1*(math.Pow(float64(nx), -1.7)+math.Pow(float64(ny), -1.7)))
		w = corr * w
	}
	if rank == 0 {
		return w, 0, fmt.Errorf("es: covariance estimate has rank 0: %w", ErrUndefined)
	}
	return w, chi2SF(w, float64(rank)), nil
}

// pseudoInverse is np.linalg.pinv(a) with rcond = 1e-15.
func pseudoInverse(a *mat.Dense) (*mat.Dense, bool) {
	var svd mat.SVD
	if !svd.Factorize(a, mat.SVDFull) {
		return nil, false
	}
	s := svd.Values(nil)
	var u, v mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
	cut := 1e-15 * slices.Max(s)
	r, c := a.Dims()
	out := mat.NewDense(c, r, nil)
	for i := 0; i < c; i++ {
		for j := 0; j < r; j++ {
			sum := 0.0
			for k, sk := range s {
				if sk > cut {
					sum += v.At(i, k) / sk * u.At(j, k)
				}
			}
			out.Set(i, j, sum)
		}
	}
	return out, true
}

// matrixRank is np.linalg.matrix_rank(a): singular values above
// max(s) * max(dims) * eps.
func matrixRank(a *mat.Dense) int {
	var svd mat.SVD
	if !svd.Factorize(a, mat.SVDNone) {
		return 0
	}
	s := svd.Values(nil)
	r, c := a.Dims()
	tol := slices.Max(s) * float64(max(r, c)) * 0x1p-52
	rank := 0
	for _, v := range s {
		if v > tol {
			rank++
		}
	}
	return rank
}

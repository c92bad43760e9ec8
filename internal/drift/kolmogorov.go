package drift

import "math"

// This file computes the survival function of scipy.stats.kstwo, the exact
// distribution of the one-sample two-sided Kolmogorov-Smirnov statistic D_n,
// following scipy 1.10 scipy/stats/_ksstats.py (Simard & L'Ecuyer 2011,
// "Computing the Two-Sided Kolmogorov-Smirnov Distribution", J. Stat. Softw.
// 39(11)) and the one-sided Smirnov survival function of
// scipy/special/cephes/kolmogorov.c (Birnbaum & Tingey 1951).

var (
	ep128 = math.Ldexp(1, 128)
	em128 = math.Ldexp(1, -128)
)

// minLog is cephes MINLOG = log(2^-1022).
const minLog = -7.08396418532264106224e2

// kstwoSF is scipy.stats.kstwo.sf(x, n).
func kstwoSF(x float64, n int) float64 {
	switch {
	case math.IsNaN(x):
		return math.NaN()
	case x <= 0.5/float64(n): // support is (0.5/n, 1)
		return 1
	case x >= 1:
		return 0
	}
	return kolmognSF(n, x)
}

// kolmognSF is scipy's _kolmogn(n, x, cdf=False).
func kolmognSF(n int, x float64) float64 {
	if x >= 1 {
		return 0
	}
	if x <= 0 {
		return 1
	}
	fn := float64(n)
	t := fn * x
	if t <= 1 { // Ruben-Gambino: 1/2n <= x <= 1/n
		if t <= 0.5 {
			return 1
		}
		var prob float64
		if n <= 140 {
			prob = 1
			for i := 1; i <= n; i++ {
				prob *= float64(i) * (1.0 / fn) * (2*t - 1)
			}
		} else {
			prob = math.Exp(logNFactDivNPowN(fn) + fn*math.Log(2*t-1))
		}
		return clip01(1 - prob)
	}
	if t >= fn-1 { // Ruben-Gambino
		return clip01(2 * math.Pow(1-x, fn))
	}
	if x >= 0.5 {
		return clip01(2 * smirnovSF(n, x))
	}
	nxsq := t * x
	if n <= 140 {
		if nxsq <= 0.754693 {
			return clip01(1 - kolmognDMTW(n, x))
		}
		if nxsq <= 4 {
			return clip01(1 - kolmognPomeranz(n, x))
		}
		return clip01(2 * smirnovSF(n, x))
	}
	if nxsq >= 370 {
		return 0
	}
	if nxsq >= 2.2 {
		return clip01(2 * smirnovSF(n, x))
	}
	var cdf float64
	switch {
	case nxsq >= 18:
		cdf = 1
	case n <= 100000 && fn*math.Pow(x, 1.5) <= 1.4:
		cdf = kolmognDMTW(n, x)
	default:
		cdf = kolmognPelzGood(n, x)
	}
	return clip01(1 - cdf)
}

func clip01(p float64) float64 { return min(max(p, 0), 1) }

// log1pSmall is log(1+z) for |z| <= 1e-3 by its Taylor series to z^6.
func log1pSmall(z float64) float64 {
	return z * (1 - z*(1.0/2-z*(1.0/3-z*(1.0/4-z*(1.0/5-z/6)))))
}

// logNFactDivNPowN is log(n!/n^n) by Stirling's series (scipy's
// _log_nfactorial_div_n_pow_n).
func logNFactDivNPowN(n float64) float64 {
	coeffs := [...]float64{-2.955065359477124183e-2, 6.4102564102564102564e-3,
		-1.9175269175269175269e-3, 8.4175084175084175084e-4,
		-5.952380952380952381e-4, 7.9365079365079365079e-4,
		-2.7777777777777777778e-3, 8.3333333333333333333e-2}
	rn := 1.0 / n
	z := rn / n
	pv := 0.0
	for _, c := range coeffs {
		pv = pv*z + c
	}
	return math.Log(n)/2 - n + math.Log(2*math.Pi)/2 + rn*pv
}

// kolmognDMTW is Pr(D_n <= d) by the Durbin matrix algorithm as organised
// by Marsaglia, Tsang & Wang (2003, J. Stat. Softw. 8(18)).
func kolmognDMTW(n int, d float64) float64 {
	if d >= 1 {
		return 1
	}
	fn := float64(n)
	nd := fn * d
	if nd <= 0.5 {
		return 0
	}
	k := int(math.Ceil(nd))
	h := float64(k) - nd
	m := 2*k - 1
	H := newSq(m)
	v := make([]float64, m)
	w := make([]float64, m)
	fac := 1.0
	for j := 1; j <= m; j++ {
		v[j-1] = 1 - math.Pow(h, float64(j))
		w[j-1] = fac
		fac /= float64(j)
		v[j-1] *= fac
	}
	tt := math.Pow(max(2*h-1, 0), float64(m)) - 2*math.Pow(h, float64(m))
	v[m-1] = (1 + tt) * fac
	for i := 1; i < m; i++ {
		for r := i - 1; r < m; r++ {
			H.set(r, i, w[r-(i-1)])
		}
	}
	for r := 0; r < m; r++ {
		H.set(r, 0, v[r])
	}
	for c := 0; c < m; c++ {
		H.set(m-1, c, v[m-1-c])
	}
	P := identity(m)
	tmp := newSq(m)
	expnt, hexpnt := 0, 0
	for nn := n; nn > 0; nn /= 2 {
		if nn%2 == 1 {
			sqMul(tmp, P, H)
			P, tmp = tmp, P
			expnt += hexpnt
		}
		sqMul(tmp, H, H)
		H, tmp = tmp, H
		hexpnt *= 2
		if math.Abs(H.at(k-1, k-1)) > ep128 {
			for i := range H.a {
				H.a[i] /= ep128
			}
			hexpnt += 128
		}
	}
	p := P.at(k-1, k-1)
	for i := 1; i <= n; i++ {
		p = float64(i) * p / fn
		if math.Abs(p) < em128 {
			p *= ep128
			expnt -= 128
		}
	}
	if expnt != 0 {
		p = math.Ldexp(p, expnt)
	}
	return clip01(p)
}

// sq is a dense square matrix in row-major order.
type sq struct {
	n int
	a []float64
}

func newSq(n int) sq                 { return sq{n, make([]float64, n*n)} }
func (s sq) at(i, j int) float64     { return s.a[i*s.n+j] }
func (s sq) set(i, j int, v float64) { s.a[i*s.n+j] = v }

func identity(n int) sq {
	s := newSq(n)
	for i := 0; i < n; i++ {
		s.set(i, i, 1)
	}
	return s
}

// sqMul sets dst = a*b.
func sqMul(dst, a, b sq) {
	n := a.n
	clear(dst.a)
	for i := 0; i < n; i++ {
		di := dst.a[i*n : (i+1)*n]
		for k, aik := range a.a[i*n : (i+1)*n] {
			if aik == 0 {
				continue
			}
			for j, bkj := range b.a[k*n : (k+1)*n] {
				di[j] += aik * bkj
			}
		}
	}
}

// kolmognPomeranz is Pr(D_n <= x) by the Pomeranz (1974) recursion.
func kolmognPomeranz(n int, x float64) float64 {
	fn := float64(n)
	t := fn * x
	ll := int(math.Floor(t))
	f := t - float64(ll)
	g := min(f, 1-f)
	ceilf := 0
	if f > 0 {
		ceilf = 1
	}
	roundf := 0
	if f > 0.5 {
		roundf = 1
	}
	npwrs := 2 * (ll + 1)
	gpower := make([]float64, npwrs)
	twogpower := make([]float64, npwrs)
	onem2gpower := make([]float64, npwrs)
	gpower[0], twogpower[0], onem2gpower[0] = 1, 1, 1
	expnt := 0
	gOverN, twoGOverN, oneMinusTwoGOverN := g/fn, 2*g/fn, (1-2*g)/fn
	for m := 1; m < npwrs; m++ {
		fm := float64(m)
		gpower[m] = gpower[m-1] * gOverN / fm
		twogpower[m] = twogpower[m-1] * twoGOverN / fm
		onem2gpower[m] = onem2gpower[m-1] * oneMinusTwoGOverN / fm
	}
	V0 := make([]float64, npwrs)
	V1 := make([]float64, npwrs)
	V1[0] = 1
	V0s, V1s := 0, 0
	j1, j2 := pomeranzJ1J2(0, n, ll, ceilf, roundf)
	for i := 1; i < 2*n+2; i++ {
		k1 := j1
		V0, V1 = V1, V0
		V0s, V1s = V1s, V0s
		clear(V1)
		j1, j2 = pomeranzJ1J2(i, n, ll, ceilf, roundf)
		pwrs := onem2gpower
		switch {
		case i == 1 || i == 2*n+1:
			pwrs = gpower
		case i%2 == 1:
			pwrs = twogpower
		}
		ln2 := j2 - k1 + 1
		if ln2 > 0 {
			a := V0[k1-V0s : min(k1-V0s+ln2, npwrs)]
			b := pwrs[:ln2]
			convStart := j1 - k1
			convLen := j2 - j1 + 1
			mx := 0.0
			for c := 0; c < convLen; c++ {
				kk := convStart + c
				s := 0.0
				for ia := max(0, kk-len(b)+1); ia <= min(kk, len(a)-1); ia++ {
					s += a[ia] * b[kk-ia]
				}
				V1[c] = s
				mx = max(mx, s)
			}
			if 0 < mx && mx < em128 {
				for c := range V1 {
					V1[c] *= ep128
				}
				expnt -= 128
			}
			V1s = V0s + j1 - k1
		}
	}
	ans := V1[n-V1s]
	for m := 1; m <= n; m++ {
		if math.Abs(ans) > ep128 {
			ans *= em128
			expnt += 128
		}
		ans *= float64(m)
	}
	if expnt != 0 {
		ans = math.Ldexp(ans, expnt)
	}
	return clip01(ans)
}

func pomeranzJ1J2(i, n, ll, ceilf, roundf int) (int, int) {
	var j1, j2 int
	if i == 0 {
		j1, j2 = -ll-ceilf-1, ll+ceilf-1
	} else {
		ip1div2, ip1mod2 := (i+1)/2, (i+1)%2
		if ip1mod2 == 0 { // i is odd
			if ip1div2 == n+1 {
				j1, j2 = n-ll-ceilf-1, n+ll+ceilf-1
			} else {
				j1, j2 = ip1div2-1-ll-roundf-1, ip1div2+ll-1+ceilf-1
			}
		} else {
			j1, j2 = ip1div2-1-ll-1, ip1div2+ll+roundf-1
		}
	}
	return max(j1+2, 0), min(j2, n)
}

// kolmognPelzGood is the Pelz-Good (1976) approximation to Pr(D_n <= x).
func kolmognPelzGood(n int, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	const (
		pi2 = math.Pi * math.Pi
		pi4 = pi2 * pi2
		pi6 = pi4 * pi2
	)
	fn := float64(n)
	z := math.Sqrt(fn) * x
	z2, z3, z4, z6 := z*z, z*z*z, z*z*z*z, math.Pow(z, 6)
	qlog := -pi2 / 8 / z2
	if qlog < -708 {
		return 0
	}
	q := math.Exp(qlog)
	k1a := -z2
	k1b := pi2 / 4
	k2a := 6*z6 + 2*z4
	k2b := (2*z4 - 5*z2) * pi2 / 4
	k2c := pi4 * (1 - 2*z2) / 16
	k3d := pi6 * (5 - 30*z2) / 64
	k3c := pi4 * (-60*z2 + 212*z4) / 16
	k3b := pi2 * (135*z4 - 96*z6) / 4
	k3a := -30*z6 - 90*math.Pow(z, 8)
	var K [4]float64
	maxk := int(math.Ceil(16 * z / math.Pi))
	for k := maxk; k > 0; k-- {
		m := float64(2*k - 1)
		m2, m4, m6 := m*m, m*m*m*m, math.Pow(m, 6)
		qp := math.Pow(q, float64(8*k))
		c := [4]float64{1, k1a + k1b*m2, k2a + k2b*m2 + k2c*m4, k3a + k3b*m2 + k3c*m4 + k3d*m6}
		for i := range K {
			K[i] = K[i]*qp + c[i]
		}
	}
	sqrt2pi := math.Sqrt(2 * math.Pi)
	den := [4]float64{z, 6 * z4, 72 * math.Pow(z, 7), 6480 * math.Pow(z, 10)}
	for i := range K {
		K[i] = K[i] * q * sqrt2pi / den[i]
	}
	q = math.Exp(-pi2 / 2 / z2)
	sqrt3z := math.Sqrt(3) * z
	var k2extra, k3extra float64
	for k := maxk; k > 0; k-- {
		fk := float64(k)
		k2 := fk * fk
		qp := math.Pow(q, k2)
		k2extra += k2 * qp
		kspi := math.Pi * fk
		k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * k2 * qp
	}
	k2extra *= pi2 * sqrt2pi / (-36 * z3)
	K[2] += k2extra
	k3extra *= pi2 * sqrt2pi / (216 * z6)
	K[3] += k3extra
	for i := range K {
		K[i] /= math.Pow(fn, float64(i)/2)
	}
	return K[0] + K[1] + K[2] + K[3]
}

// smirnovSF is the one-sided Smirnov survival function Pr(D+_n >= x)
// (scipy.special.smirnov, cephes kolmogorov.c). For n <= 10^6 it sums the
// Birnbaum-Tingey series
//
//	x * sum_{v=0}^{ceil(n(1-x))-1} C(n,v) (x+v/n)^(v-1) (1-x-v/n)^(n-v)
//
// whose terms are all positive. scipy evaluates every term in double-double
// arithmetic; here each term is C(n,v) p^v q^(n-v) / p with p = x+v/n
// evaluated by Loader's saddle-point binomial (a few ulps), or by an exact
// ratio recurrence from its neighbour re-anchored every 256 terms; terms
// that are provably below 1e-22 of the result are skipped; the sum is
// compensated. Agreement with scipy is ~1e-12 relative. For n > 10^6
// scipy's approximation exp(-(6nx+1)^2/(18n)) is used, as scipy does.
func smirnovSF(n int, x float64) float64 {
	if !(n > 0 && x >= 0 && x <= 1) {
		return math.NaN()
	}
	if n == 1 {
		return 1 - x
	}
	if x == 0 {
		return 1
	}
	if x == 1 {
		return 0
	}
	fn := float64(n)
	nxHi := fn * x
	nxLo := math.FMA(fn, x, -nxHi)
	nxfl := math.Floor(nxHi)
	alpha := (nxHi - nxfl) + nxLo
	if alpha < 0 {
		nxfl--
		alpha++
	}
	if alpha >= 1 {
		nxfl++
		alpha = 0
	}
	if nxfl == 0 || (nxfl == 1 && alpha == 0) { // x <= 1/n
		return 1 - x*math.Pow(1+x, fn-1)
	}
	if -2*fn*x*x < minLog {
		return 0
	}
	if nxfl >= fn-1 {
		return math.Pow(1-x, fn)
	}
	if n > 1000000 {
		logp := -math.Pow(6.0*fn*x+1, 2) / 18.0 / fn
		if logp < -math.Ln2 {
			return math.Exp(logp)
		}
		return 1 + math.Expm1(logp)
	}
	last := n - int(nxfl) - 1
	nx := nxHi + nxLo
	// Rigorous truncation: with a = v/n and s ranging over [a, a+x],
	// C(n,v) p^v q^(n-v) <= exp(-n KL(a || a+x)) <= exp(-n x^2 / (2 max s(1-s)))
	// (Chernoff; KL(a||p) = ∫_a^p (t-a)/(t(1-t)) dt), so a term is at most
	// exp(-n x^2/(2M))/x. Terms whose bound is below exp(-cut) are skipped;
	// with cut = 2nx^2 + 60 + log(n/x) their total is below 1e-22 times the
	// result, which is at least 0.7 exp(-2nx^2).
	cut := 2*fn*x*x + 60 + math.Log(fn/x)
	mmin := fn * x * x / (2 * cut) // smallest max s(1-s) worth summing
	lo, hi := 0, last
	if mmin < 0.25 {
		r := math.Sqrt(0.25 - mmin) // s(1-s) >= mmin  <=>  |s - 1/2| <= r
		if sLow := 0.5 - r; sLow > x {
			lo = max(int(math.Floor(fn*(sLow-x)))-1, 0)
		}
		hi = min(int(math.Ceil(fn*(0.5+r)))+1, last)
	}
	var acc kahan
	if lo == 0 {
		// v = 0: (1-x)^n / x.
		acc.add(math.Exp(logDbinom(0, fn, nx, (fn-nxHi)-nxLo)) / x)
		lo = 1
	}
	stirN := stirlerr(fn)
	// exact returns term v: log of C(n,v) p^(v-1) q^(n-v) with p = np/n,
	// q = nq/n, written as Loader's saddle point: stirling errors,
	// v*log(np/v) + (n-v)*log(nq/(n-v)) and -log(p*sqrt(2*pi*v*(n-v)/n)).
	exact := func(v int) float64 {
		fv := float64(v)
		rest := fn - fv
		np := (fv + nxHi) + nxLo
		nq := (rest - nxHi) - nxLo
		var lq float64
		if r := nx / rest; r < 0.5 {
			lq = math.Log1p(-r)
		} else {
			lq = math.Log(nq / rest)
		}
		l := stirN - stirlerr(fv) - stirlerr(rest) + fv*math.Log1p(nx/fv) + rest*lq -
			math.Log(np/fn*math.Sqrt(2*math.Pi*fv*rest/fn))
		return math.Exp(l)
	}
	// Between exact evaluations every 256 terms, term v+1 follows from term
	// v by the ratio (n-v)/(v+1) * P/Q * (1+1/P)^v * (1-1/Q)^(n-v-1) with
	// P = v+nx, Q = n-v-nx, using a 6-term log1p series while 1/P and 1/Q
	// are below 1e-3 (series error < 1e-19; the re-anchoring bounds the
	// accumulated rounding to ~1e-13 relative).
	const anchor = 256
	t := 0.0
	for v := lo; v <= hi; v++ {
		fv := float64(v)
		P := (fv - 1 + nxHi) + nxLo
		Q := ((fn - fv + 1) - nxHi) - nxLo
		if (v-lo)%anchor == 0 || P < 1e3 || Q < 1e3 {
			t = exact(v)
		} else {
			// ratio from v-1 to v
			w := fv - 1
			E := w*log1pSmall(1/P) + (fn-w-1)*log1pSmall(-1/Q)
			t *= (fn - w) / (w + 1) * (P / Q) * math.Exp(E)
		}
		acc.add(t)
	}
	return clip01(x * acc.sum())
}

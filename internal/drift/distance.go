package drift

import (
	"fmt"
	"github.com/modelmon/modelmon/internal/fscale"
	"math"
)

// Wasserstein returns the first Wasserstein (earth mover's) distance between
// the empirical distributions of u and v,
//
//	W1 = ∫ |F_u(t) - F_v(t)| dt,
//
// as scipy.stats.wasserstein_distance(u, v) computes it: the integral of the
// difference of the two empirical CDFs over the pooled sorted values. The
// inputs must be non-empty and finite; they are not modified.
func Wasserstein(u, v []float64) (float64, error) {
	if err := checkPair(u, v); err != nil {
		return 0, fmt.Errorf("wasserstein: %w", err)
	}
	if s := fscale.Pow2(max(fscale.MaxAbs(u), fscale.MaxAbs(v))); s != 1 {
		return cdfDistanceSorted(1, sortedCopy(scaled(u, s)), sortedCopy(scaled(v, s))) / s, nil
	}
	return cdfDistanceSorted(1, sortedCopy(u), sortedCopy(v)), nil
}

// WassersteinSorted is Wasserstein for inputs already sorted ascending.
func WassersteinSorted(u, v []float64) (float64, error) {
	if err := sortedPair(u, v); err != nil {
		return 0, fmt.Errorf("wasserstein: %w", err)
	}
	if s := fscale.Pow2(max(fscale.MaxAbs(u), fscale.MaxAbs(v))); s != 1 {
		return cdfDistanceSorted(1, scaled(u, s), scaled(v, s)) / s, nil
	}
	return cdfDistanceSorted(1, u, v), nil
}

// WassersteinNorm is Evidently's "wasserstein" drift score: the Wasserstein-1
// distance divided by max(std(ref), 0.001), with the population standard
// deviation (numpy std, ddof=0) of the reference sample.
func WassersteinNorm(ref, cur []float64) (float64, error) {
	if err := checkPair(ref, cur); err != nil {
		return 0, fmt.Errorf("wasserstein: %w", err)
	}
	if s := fscale.Pow2(max(fscale.MaxAbs(ref), fscale.MaxAbs(cur))); s != 1 {
		ref, cur = scaled(ref, s), scaled(cur, s)
		return wassersteinNormSorted(ref, sortedCopy(ref), sortedCopy(cur), 0.001*s), nil
	}
	return wassersteinNormSorted(ref, sortedCopy(ref), sortedCopy(cur), 0.001), nil
}

// wassersteinNormSorted uses raw (original order) ref for numpy's std, so the
// summation order matches np.std exactly; floor is 0.001 times the scale the
// data were multiplied by.
func wassersteinNormSorted(rawRef, ref, cur []float64, floor float64) float64 {
	norm := max(math.Sqrt(npVar(rawRef)), floor)
	return cdfDistanceSorted(1, ref, cur) / norm
}

// EnergyDistance returns the energy distance between the empirical
// distributions of u and v (Székely & Rizzo 2013),
//
//	D(u, v) = sqrt(2 E|X-Y| - E|X-X'| - E|Y-Y'|) = sqrt(2) * (∫ (F_u - F_v)^2 dt)^(1/2),
//
// as scipy.stats.energy_distance(u, v). Inputs must be non-empty and finite.
func EnergyDistance(u, v []float64) (float64, error) {
	if err := checkPair(u, v); err != nil {
		return 0, fmt.Errorf("energy distance: %w", err)
	}
	if s := fscale.Pow2(max(fscale.MaxAbs(u), fscale.MaxAbs(v))); s != 1 {
		return math.Sqrt2 * cdfDistanceSorted(2, sortedCopy(scaled(u, s)), sortedCopy(scaled(v, s))) / math.Sqrt(s), nil
	}
	return math.Sqrt2 * cdfDistanceSorted(2, sortedCopy(u), sortedCopy(v)), nil
}

// EnergyDistanceSorted is EnergyDistance for inputs sorted ascending.
func EnergyDistanceSorted(u, v []float64) (float64, error) {
	if err := sortedPair(u, v); err != nil {
		return 0, fmt.Errorf("energy distance: %w", err)
	}
	if s := fscale.Pow2(max(fscale.MaxAbs(u), fscale.MaxAbs(v))); s != 1 {
		return math.Sqrt2 * cdfDistanceSorted(2, scaled(u, s), scaled(v, s)) / math.Sqrt(s), nil
	}
	return math.Sqrt2 * cdfDistanceSorted(2, u, v), nil
}

func sortedPair(u, v []float64) error {
	if len(u) == 0 || len(v) == 0 {
		return ErrEmpty
	}
	if !isSorted(u) || !isSorted(v) {
		return fmt.Errorf("input not sorted ascending")
	}
	return nil
}

// cdfDistanceSorted is scipy's _cdf_distance(p, u, v) for p = 1 or 2 on
// sorted samples: the sum over consecutive distinct pooled values of
// |F_u - F_v|^p * delta, then the p-th root. One O(n+m) merge; the CDF
// difference is kept as the exact integer |i*m - j*n| and scaled once at
// the end, and the terms are accumulated with compensated summation (numpy
// forms i/n - j/m per point and sums pairwise; both agree to a few ulps).
func cdfDistanceSorted(p int, u, v []float64) float64 {
	nu, nv := int64(len(u)), int64(len(v))
	i, j := 0, 0
	var acc kahan
	x := min(u[0], v[0])
	for {
		for i < len(u) && u[i] == x {
			i++
		}
		for j < len(v) && v[j] == x {
			j++
		}
		var next float64
		switch {
		case i == len(u) && j == len(v):
			s := float64(nu) * float64(nv)
			if p == 2 {
				return math.Sqrt(acc.sum()) / s
			}
			return acc.sum() / s
		case i == len(u):
			next = v[j]
		case j == len(v):
			next = u[i]
		default:
			next = min(u[i], v[j])
		}
		num := float64(int64(i)*nv - int64(j)*nu)
		if p == 2 {
			acc.add(num * num * (next - x))
		} else {
			acc.add(math.Abs(num) * (next - x))
		}
		x = next
	}
}

// scaled returns a new slice of xs times s.
func scaled(xs []float64, s float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x * s
	}
	return out
}

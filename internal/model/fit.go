package model

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Data is a training set: one categorical value, len(Numerical) numerical values and
// a target per row.
type Data struct {
	Category  []string
	Numerical [][]float64 // Numerical[j][i]: feature j of row i
	Target    []float64
}

// Fit solves ordinary least squares with an intercept over the one-hot encoding of
// the categorical feature plus the numerical features, and returns the
// minimum-norm solution on centered data, the one sklearn's LinearRegression gives for
// a DictVectorizer design (it centers X and y, solves the least-squares problem with
// LSQR started at zero, which converges to the minimum-norm solution, and sets
// intercept = mean(y) - mean(X)·coef).
//
// The design is rank-deficient: the one-hot block sums to the intercept column. With
// one nonzero one-hot per row the problem separates (Frisch-Waugh-Lovell):
//
//	beta  = (sum_i (x_i - xbar_c(i))(x_i - xbar_c(i))^T)^-1  sum_i (x_i - xbar_c(i))(y_i - ybar_c(i))
//	a_c   = ybar_c - beta·xbar_c             (fitted level of category c)
//
// beta is the within-category regression. Any split a_c = b0 + w_c fits equally well;
// on centered data the null space is the direction (w = 1, beta = 0), so the
// minimum-norm coefficients satisfy sum_c w_c = 0:
//
//	w_c = a_c - mean_c(a),   intercept = mean_c(a)   (unweighted mean over categories)
//
// Cost: O(n·k² + k³) for n rows and k numerical features, instead of a dense solve of
// the ~13,000-column design. It needs within-category variation of the numerical
// features (the k×k within-scatter matrix must be nonsingular); otherwise it fails.
func Fit(d Data) (intercept float64, numCoef []float64, catCoef map[string]float64, err error) {
	n := len(d.Target)
	if n == 0 {
		return 0, nil, nil, errors.New("fit: no rows")
	}
	if len(d.Category) != n {
		return 0, nil, nil, fmt.Errorf("fit: %d categories for %d targets", len(d.Category), n)
	}
	k := len(d.Numerical)
	for j, col := range d.Numerical {
		if len(col) != n {
			return 0, nil, nil, fmt.Errorf("fit: numerical feature %d has %d rows, want %d", j, len(col), n)
		}
	}
	for i := 0; i < n; i++ {
		if !finite(d.Target[i]) {
			return 0, nil, nil, fmt.Errorf("fit: target of row %d is %v", i, d.Target[i])
		}
		for j := 0; j < k; j++ {
			if !finite(d.Numerical[j][i]) {
				return 0, nil, nil, fmt.Errorf("fit: numerical feature %d of row %d is %v", j, i, d.Numerical[j][i])
			}
		}
	}

	// Pass 1: per-category means of y and x.
	index := make(map[string]int)
	group := make([]int, n)
	var counts []float64
	var sumY []float64
	var sumX [][]float64
	for i, c := range d.Category {
		g, ok := index[c]
		if !ok {
			g = len(counts)
			index[c] = g
			counts = append(counts, 0)
			sumY = append(sumY, 0)
			sumX = append(sumX, make([]float64, k))
		}
		group[i] = g
		counts[g]++
		sumY[g] += d.Target[i]
		for j := 0; j < k; j++ {
			sumX[g][j] += d.Numerical[j][i]
		}
	}
	for g := range counts {
		sumY[g] /= counts[g]
		for j := 0; j < k; j++ {
			sumX[g][j] /= counts[g]
		}
	}
	meanY, meanX := sumY, sumX

	// Pass 2: within-category scatter.
	beta := make([]float64, k)
	if k > 0 {
		sxx := mat.NewSymDense(k, nil)
		sxy := mat.NewVecDense(k, nil)
		dx := make([]float64, k)
		for i := 0; i < n; i++ {
			g := group[i]
			dy := d.Target[i] - meanY[g]
			for j := 0; j < k; j++ {
				dx[j] = d.Numerical[j][i] - meanX[g][j]
			}
			for a := 0; a < k; a++ {
				sxy.SetVec(a, sxy.AtVec(a)+dx[a]*dy)
				for b := a; b < k; b++ {
					sxx.SetSym(a, b, sxx.At(a, b)+dx[a]*dx[b])
				}
			}
		}
		var chol mat.Cholesky
		if ok := chol.Factorize(sxx); !ok {
			return 0, nil, nil, errors.New("fit: numerical features have no independent variation within categories (singular within-scatter matrix)")
		}
		var b mat.VecDense
		if err := chol.SolveVecTo(&b, sxy); err != nil {
			return 0, nil, nil, fmt.Errorf("fit: solve within-category regression: %w", err)
		}
		for j := 0; j < k; j++ {
			beta[j] = b.AtVec(j)
		}
	}

	// Category levels and the minimum-norm split.
	levels := make([]float64, len(counts))
	var sumLevels float64
	for g := range counts {
		a := meanY[g]
		for j := 0; j < k; j++ {
			a -= beta[j] * meanX[g][j]
		}
		levels[g] = a
		sumLevels += a
	}
	intercept = sumLevels / float64(len(levels))
	catCoef = make(map[string]float64, len(index))
	for c, g := range index {
		catCoef[c] = levels[g] - intercept
	}
	return intercept, beta, catCoef, nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// RMSE is sqrt(mean((pred - target)^2)).
func RMSE(pred, target []float64) float64 {
	var s float64
	for i := range pred {
		e := pred[i] - target[i]
		s += e * e
	}
	return math.Sqrt(s / float64(len(pred)))
}

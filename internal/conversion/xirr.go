package conversion

import (
	"math"
	"math/big"
)

// cashFlow is one dated amount: negative for money paid out (disbursements),
// positive for money received (proceeds).
type cashFlow struct {
	day    int64
	amount *big.Rat
}

// xirr returns the annual rate r at which Σ amount / (1 + r)^(days/365) = 0,
// days counted from the earliest flow (ACT/365, the spreadsheet convention).
// ok is false when there is no such rate: all flows of one sign, all on one
// day, or a rate beyond what float64 can express.
//
// The equation is not solvable exactly, so this is the one place the package
// uses floating point; the root is found to about 1e-13 relative, far below
// the 8 decimals it is printed with, and then converted to a big.Rat so the
// caller rounds it like any other figure.
func xirr(flows []cashFlow) (*big.Rat, bool) {
	if len(flows) < 2 {
		return nil, false
	}
	day0 := flows[0].day
	for _, f := range flows {
		day0 = min(day0, f.day)
	}
	ts := make([]float64, len(flows))
	vs := make([]float64, len(flows))
	pos, neg, spread := false, false, false
	for i, f := range flows {
		ts[i] = float64(f.day-day0) / 365
		vs[i], _ = f.amount.Float64()
		pos = pos || vs[i] > 0
		neg = neg || vs[i] < 0
		spread = spread || f.day != day0
	}
	if !pos || !neg || !spread {
		return nil, false
	}
	r, ok := solveRate(ts, vs)
	if !ok {
		return nil, false
	}
	rat := new(big.Rat).SetFloat64(r)
	if rat == nil {
		return nil, false
	}
	return rat, true
}

// solveRate finds a root of npv in (−1, ∞): Newton's method from 10%, which
// converges in a handful of steps for ordinary flows, and bisection on a
// bracketing interval when Newton leaves the domain, stalls or overflows.
func solveRate(ts, vs []float64) (float64, bool) {
	if r, ok := newton(ts, vs); ok {
		return r, true
	}
	return bisect(ts, vs)
}

func newton(ts, vs []float64) (float64, bool) {
	r := 0.1
	for range 100 {
		f, df := npv(ts, vs, r)
		if !finite(f) || !finite(df) || df == 0 {
			return 0, false
		}
		next := r - f/df
		if next <= -1 {
			next = (r - 1) / 2 // halfway to the domain edge, stay inside
		}
		if math.Abs(next-r) <= 1e-13*math.Max(1, math.Abs(r)) {
			return next, finite(next)
		}
		r = next
	}
	return 0, false
}

func bisect(ts, vs []float64) (float64, bool) {
	lo, hi := -1+1e-12, 1.0
	sLo := npvSign(ts, vs, lo)
	if sLo == 0 {
		return lo, true
	}
	sHi := npvSign(ts, vs, hi)
	for sHi == sLo {
		if hi > 1e12 {
			return 0, false
		}
		hi = hi*4 + 1
		sHi = npvSign(ts, vs, hi)
	}
	if sHi == 0 {
		return hi, true
	}
	for range 400 {
		mid := lo + (hi-lo)/2
		if hi-lo <= 1e-15*math.Max(1, math.Abs(mid)) {
			return mid, true
		}
		switch npvSign(ts, vs, mid) {
		case 0:
			return mid, true
		case sLo:
			lo = mid
		default:
			hi = mid
		}
	}
	return lo + (hi-lo)/2, true
}

// npv is Σ v (1+r)^−t and its derivative in r.
func npv(ts, vs []float64, r float64) (f, df float64) {
	l := math.Log1p(r)
	for i := range ts {
		e := math.Exp(-ts[i] * l)
		f += vs[i] * e
		df -= ts[i] * vs[i] * e / (1 + r)
	}
	return f, df
}

// npvSign is the sign of npv computed with every term scaled by the largest
// discount factor, so that it stays meaningful where npv itself overflows
// (rates near −1 over long horizons, or huge rates).
func npvSign(ts, vs []float64, r float64) int {
	l := math.Log1p(r)
	emax := math.Inf(-1)
	for _, t := range ts {
		emax = math.Max(emax, -t*l)
	}
	var f float64
	for i := range ts {
		f += vs[i] * math.Exp(-ts[i]*l-emax)
	}
	switch {
	case f > 0:
		return 1
	case f < 0:
		return -1
	}
	return 0
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

package conversion

import (
	"encoding/json"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Property tests over thousands of random valid requests from a hand-rolled
// generator with a fixed seed (so a failure is reproducible: the message
// names the case number).

const (
	propConversions = 5000
	propExits       = 3000
)

// gen draws random but valid inputs.
type gen struct{ rng *rand.Rand }

func newGen() gen { return gen{rand.New(rand.NewPCG(20240115, 20260115))} }

// logUniform draws a value between lo and hi, spread evenly in magnitude, so
// tiny and huge amounts are both exercised.
func (g gen) logUniform(lo, hi float64) float64 {
	return math.Exp(math.Log(lo) + g.rng.Float64()*(math.Log(hi)-math.Log(lo)))
}

// decimalStr draws a number between lo and hi printed with places decimals.
func (g gen) decimalStr(lo, hi float64, places int) string {
	v := g.logUniform(lo, hi) * math.Pow10(places)
	n := max(int64(v), 1)
	return formatScaled(big.NewInt(n), places)
}

// ratio draws a fraction in [lo, hi) with up to 4 decimals.
func (g gen) ratio(lo, hi float64) string {
	n := int64((lo + g.rng.Float64()*(hi-lo)) * 10000)
	return formatScaled(big.NewInt(n), 4)
}

func (g gen) date(base time.Time, maxDays int) (time.Time, string) {
	d := base.AddDate(0, 0, g.rng.IntN(maxDays+1))
	return d, d.Format(time.DateOnly)
}

func (g gen) disbursements(conv time.Time) []Disbursement {
	n := 1 + g.rng.IntN(6)
	ds := make([]Disbursement, n)
	for i := range ds {
		d := conv.AddDate(0, 0, -g.rng.IntN(1500))
		ds[i] = Disbursement{Date: d.Format(time.DateOnly), Amount: g.decimalStr(1, 2e7, 2)}
	}
	return ds
}

func (g gen) conversion() ConvertRequest {
	base := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	conv, convS := g.date(base, 4000)
	req := ConvertRequest{Kind: KindConversion, Unit: UnitRegisteredCapital, ConversionDate: convS}
	scale := 2
	if g.rng.IntN(2) == 0 {
		req.Unit, scale = UnitShares, 0
	}
	if g.rng.IntN(4) == 0 {
		scale = g.rng.IntN(3)
		req.UnitScale = &scale
	}
	req.Disbursements = g.disbursements(conv)
	req.PreMoneyUnits = g.decimalStr(1e3, 1e9, scale)
	methods := []string{MethodRoundPrice, MethodAppraisal, MethodFixedPrice, MethodFixedStake}
	req.Pricing.Method = methods[g.rng.IntN(len(methods))]
	if req.Pricing.Method == MethodRoundPrice || g.rng.IntN(2) == 0 {
		req.Round = &Round{PreMoneyValuation: g.decimalStr(1e5, 1e11, 2), NewMoney: g.decimalStr(1e4, 1e10, 2)}
	}
	switch req.Pricing.Method {
	case MethodRoundPrice, MethodAppraisal:
		if req.Pricing.Method == MethodAppraisal {
			req.Pricing.AppraisedValue = g.decimalStr(1e5, 1e11, 2)
		}
		if g.rng.IntN(3) > 0 {
			req.Pricing.Discount = g.ratio(0, 0.6)
		}
		if g.rng.IntN(2) == 0 {
			req.Pricing.ValuationCap = g.decimalStr(1e5, 1e11, 2)
		}
		if g.rng.IntN(3) == 0 {
			req.Pricing.FloorPrice = g.decimalStr(0.01, 100, 4)
		}
	case MethodFixedPrice:
		req.Pricing.Price = g.decimalStr(0.01, 1000, 6)
	case MethodFixedStake:
		req.Pricing.Stake = g.ratio(0.0001, 0.6)
		if req.Pricing.Stake == "0.0000" {
			req.Pricing.Stake = "0.01"
		}
	}
	if g.rng.IntN(2) == 0 {
		req.MaxStake = g.ratio(0.01, 0.6)
	}
	if g.rng.IntN(3) == 0 {
		req.Interest = &Interest{Rate: g.ratio(0, 0.1)}
	}
	return req
}

func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic("test: bad number " + s)
	}
	return r
}

func TestConversionProperties(t *testing.T) {
	g := newGen()
	accepted := 0
	bases := map[string]int{}
	for i := range propConversions {
		req := g.conversion()
		res, err := Convert(req)
		if err != nil {
			// The generator can produce a price so high that not one unit
			// is bought; that is the only refusal a valid request may get.
			if ie, ok := err.(*InputError); !ok || (ie.Field != "disbursements" && ie.Field != "pricing.stake" && ie.Field != "max_stake") {
				t.Fatalf("case %d: %v\n%+v", i, err, req)
			}
			continue
		}
		accepted++
		bases[res.PriceBasis]++
		checkConversion(t, i, req, res)
	}
	if accepted < propConversions*9/10 {
		t.Errorf("only %d of %d random requests accepted; the generator is too harsh", accepted, propConversions)
	}
	for _, b := range []string{BasisRound, BasisAppraisal, BasisDiscount, BasisCap, BasisFloor, BasisFixedPrice, BasisFixedStake, BasisStakeCeiling, BasisPar} {
		if bases[b] == 0 {
			t.Errorf("no random case ended with basis %s; widen the generator", b)
		}
	}
	t.Logf("bases: %v", bases)
}

func checkConversion(t *testing.T, i int, req ConvertRequest, res ConvertResult) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("case %d: "+format+"\nrequest %+v\npricing %+v\nresult %+v", append(append([]any{i}, args...), req, req.Pricing, res)...)
	}
	a, g, tot := rat(res.ConversionAmount), rat(res.Units), rat(res.PostMoneyUnits)
	u, r := rat(req.PreMoneyUnits), rat(res.RoundInvestorUnits)

	// Units never exceed the exact quotient A / p. For the price-setting
	// rules p is recomputed exactly from the inputs; for the rules that set
	// p = A / G the printed price must be that quotient.
	var p *big.Rat
	switch res.PriceBasis {
	case BasisRound:
		p = quo(rat(req.Round.PreMoneyValuation), u)
	case BasisAppraisal:
		p = quo(rat(req.Pricing.AppraisedValue), u)
	case BasisDiscount:
		v := req.Pricing.AppraisedValue
		if req.Pricing.Method == MethodRoundPrice {
			v = req.Round.PreMoneyValuation
		}
		p = mul(quo(rat(v), u), sub(ratOne, rat(req.Pricing.Discount)))
	case BasisCap:
		p = quo(rat(req.Pricing.ValuationCap), u)
	case BasisFloor:
		p = rat(req.Pricing.FloorPrice)
	case BasisFixedPrice:
		p = rat(req.Pricing.Price)
	case BasisFixedStake, BasisStakeCeiling, BasisPar:
		if got, want := res.ConversionPrice, fixed(quo(a, g), placesPrice, halfUp); got != want {
			fail("price %s, want A/G = %s", got, want)
		}
	default:
		fail("unknown basis %q", res.PriceBasis)
	}
	scale := 2
	if req.Unit == UnitShares {
		scale = 0
	}
	if req.UnitScale != nil {
		scale = *req.UnitScale
	}
	if p != nil {
		q := quo(a, p)
		if g.Cmp(q) > 0 {
			fail("units %s exceed A/p = %s", res.Units, q.FloatString(10))
		}
		if sub(q, g).Cmp(new(big.Rat).SetFrac(big.NewInt(1), pow10(scale))) >= 0 {
			fail("units %s are more than one step below A/p = %s", res.Units, q.FloatString(10))
		}
		if got, want := res.ConversionPrice, fixed(p, placesPrice, halfUp); got != want {
			fail("price %s, want %s", got, want)
		}
	}
	// G ≤ A: never below par.
	if g.Cmp(a) > 0 {
		fail("units %s exceed the amount %s (below par)", res.Units, res.ConversionAmount)
	}
	// Stake ≤ ceiling.
	if req.MaxStake != "" && quo(g, tot).Cmp(rat(req.MaxStake)) > 0 {
		fail("stake %s above the ceiling %s", res.Stake, req.MaxStake)
	}
	// Bookkeeping identities.
	if add(add(u, r), g).Cmp(tot) != 0 {
		fail("T ≠ U + R + G")
	}
	if add(rat(res.ToRegisteredCapital), rat(res.ToCapitalReserve)).Cmp(a) != 0 {
		fail("registered capital + reserve ≠ A")
	}
	if req.Round != nil && r.Cmp(quo(mul(rat(req.Round.NewMoney), u), rat(req.Round.PreMoneyValuation))) > 0 {
		fail("round investor units exceed M / (V / U)")
	}

	// More discount never gives fewer units.
	if req.Pricing.Method == MethodRoundPrice || req.Pricing.Method == MethodAppraisal {
		more := req
		more.Pricing.Discount = fixed(add(ratOrZero(req.Pricing.Discount), big.NewRat(1, 10)), 4, down)
		if rat(more.Pricing.Discount).Cmp(big.NewRat(99, 100)) < 0 {
			res2, err := Convert(more)
			if err != nil {
				fail("a larger discount %s was refused: %v", more.Pricing.Discount, err)
			}
			if rat(res2.Units).Cmp(g) < 0 {
				fail("discount %s gives %s units, fewer than %s at discount %q", more.Pricing.Discount, res2.Units, res.Units, req.Pricing.Discount)
			}
		}
	}
}

func ratOrZero(s string) *big.Rat {
	if s == "" {
		return new(big.Rat)
	}
	return rat(s)
}

func (g gen) exit() ExitRequest {
	base := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	conv, convS := g.date(base, 4000)
	scale := g.rng.IntN(3)
	req := ExitRequest{Kind: KindExit, UnitScale: &scale, ConversionDate: convS}
	req.Disbursements = g.disbursements(conv)
	req.Units = g.decimalStr(10, 1e8, scale)
	req.Policy = Policy{
		ReturnRate:  g.ratio(0, 0.12),
		AccrualFrom: []string{AccrualDisbursement, AccrualConversion}[g.rng.IntN(2)],
		Allocation:  []string{AllocationFIFO, AllocationProRata}[g.rng.IntN(2)],
		BelowCap:    []string{BelowCapMarket, BelowCapCap}[g.rng.IntN(2)],
	}
	basis := new(big.Rat)
	for _, d := range req.Disbursements {
		basis.Add(basis, rat(d.Amount))
	}
	held := rat(req.Units)
	step := new(big.Rat).SetFrac(big.NewInt(1), pow10(scale))
	day := conv
	n := 1 + g.rng.IntN(10)
	for k := 0; k < n && held.Sign() > 0; k++ {
		day = day.AddDate(0, 0, g.rng.IntN(900))
		tr := Tranche{Date: day.Format(time.DateOnly)}
		var u *big.Rat
		switch last := k == n-1; {
		case last && g.rng.IntN(4) > 0, g.rng.IntN(8) == 0:
			tr.Rest = true
			u = held
		case g.rng.IntN(3) == 0:
			f := g.ratio(0.0001, 0.5)
			u = roundRat(mul(rat(req.Units), rat(f)), scale, down)
			if u.Sign() > 0 && u.Cmp(held) <= 0 {
				tr.Fraction = f
				break
			}
			fallthrough
		default:
			// Between one step and everything still held.
			frac := g.rng.Float64()
			u = roundRat(mul(held, new(big.Rat).SetFloat64(frac)), scale, down)
			if u.Cmp(step) < 0 {
				u = step
			}
			tr.Units = fixed(u, scale, down)
		}
		held = sub(held, u)
		switch g.rng.IntN(4) {
		case 0: // unknown
		case 1:
			tr.MarketValue = "0.00"
		default:
			est := mul(basis, quo(u, rat(req.Units)))
			f, _ := est.Float64()
			tr.MarketValue = fixed(new(big.Rat).SetFloat64(f*g.rng.Float64()*3), 2, halfUp)
		}
		req.Tranches = append(req.Tranches, tr)
	}
	return req
}

func TestExitProperties(t *testing.T) {
	g := newGen()
	emptied, withXIRR := 0, 0
	for i := range propExits {
		req := g.exit()
		res, err := Exit(req)
		if err != nil {
			t.Fatalf("case %d: %v\n%+v", i, err, req)
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("case %d: "+format+"\nrequest %+v\nresult %+v", append(append([]any{i}, args...), req, res)...)
		}
		basis := new(big.Rat)
		for _, d := range req.Disbursements {
			basis.Add(basis, rat(d.Amount))
		}
		costs, proceeds, interest, concession, gain := new(big.Rat), new(big.Rat), new(big.Rat), new(big.Rat), new(big.Rat)
		for k, tr := range res.Tranches {
			c, in, kk, p := rat(tr.Cost), rat(tr.Interest), rat(tr.CapAmount), rat(tr.Proceeds)
			if c.Sign() < 0 || in.Sign() < 0 {
				fail("tranche %d: negative cost or interest", k)
			}
			if add(c, in).Cmp(kk) != 0 {
				fail("tranche %d: K ≠ c + I", k)
			}
			// Proceeds never exceed the cap amount; they fall below it only
			// when the market rule lowered them to a lower market value.
			if p.Cmp(kk) > 0 {
				fail("tranche %d: proceeds %s above cap amount %s", k, tr.Proceeds, tr.CapAmount)
			}
			if p.Cmp(kk) < 0 {
				if req.Policy.BelowCap != BelowCapMarket || tr.MarketValue == nil || rat(*tr.MarketValue).Cmp(p) != 0 {
					fail("tranche %d: proceeds %s below cap %s without the market rule", k, tr.Proceeds, tr.CapAmount)
				}
			}
			if tr.MarketValue != nil && rat(*tr.MarketValue).Cmp(kk) >= 0 {
				if sub(rat(*tr.MarketValue), kk).Cmp(rat(tr.Concession)) != 0 {
					fail("tranche %d: concession ≠ MV − K", k)
				}
			} else if rat(tr.Concession).Sign() != 0 {
				fail("tranche %d: concession without a market value above K", k)
			}
			if sub(p, c).Cmp(rat(tr.Gain)) != 0 {
				fail("tranche %d: gain ≠ P − c", k)
			}
			costs.Add(costs, c)
			proceeds.Add(proceeds, p)
			interest.Add(interest, in)
			concession.Add(concession, rat(tr.Concession))
			gain.Add(gain, rat(tr.Gain))
		}
		tot := res.Totals
		if costs.Cmp(rat(tot.CostReleased)) != 0 || proceeds.Cmp(rat(tot.Proceeds)) != 0 ||
			interest.Cmp(rat(tot.Interest)) != 0 || concession.Cmp(rat(tot.Concession)) != 0 || gain.Cmp(rat(tot.Gain)) != 0 {
			fail("totals are not the sums of the tranches")
		}
		if add(rat(tot.UnitsSold), rat(tot.UnitsRemaining)).Cmp(rat(req.Units)) != 0 {
			fail("units sold + remaining ≠ units held")
		}
		if costs.Cmp(basis) > 0 {
			fail("costs %s exceed the basis %s", costs.FloatString(2), basis.FloatString(2))
		}
		if rat(tot.UnitsRemaining).Sign() != 0 {
			if tot.MOIC != nil || tot.XIRR != nil {
				fail("MOIC or XIRR before the holding is emptied")
			}
			continue
		}
		emptied++
		// The tranche costs add up to the cost basis.
		if costs.Cmp(basis) != 0 {
			fail("costs %s ≠ basis %s after emptying", costs.FloatString(2), basis.FloatString(2))
		}
		if tot.MOIC == nil || *tot.MOIC != fixed(quo(proceeds, basis), placesMOIC, halfUp) {
			fail("MOIC %v, want proceeds / basis", tot.MOIC)
		}
		flows := exitFlows(req, res)
		root, ok := xirr(flows)
		if proceeds.Sign() > 0 && !ok {
			fail("no XIRR although proceeds are positive")
		}
		if !ok {
			if tot.XIRR != nil {
				fail("XIRR %s without a root", *tot.XIRR)
			}
			continue
		}
		withXIRR++
		if tot.XIRR == nil || *tot.XIRR != fixed(root, placesXIRR, halfUp) {
			fail("XIRR %v, want the root %s rounded", tot.XIRR, root.FloatString(12))
		}
		// The root makes the NPV zero within 1e-6 of the largest flow.
		r, _ := root.Float64()
		if npv, largest := npvAt(flows, r); math.Abs(npv) > 1e-6*largest {
			fail("NPV at XIRR %s is %g, largest flow %g", root.FloatString(12), npv, largest)
		}
		// And at the printed 8 decimals, within what rounding by at most
		// 5e-9 can move it (|dNPV/dr| × 5e-9).
		printed, _ := rat(*tot.XIRR).Float64()
		npv, largest := npvAt(flows, printed)
		if math.Abs(npv) > 1e-6*largest+npvSlope(flows, r)*5e-9 {
			fail("NPV at printed XIRR %s is %g, largest flow %g", *tot.XIRR, npv, largest)
		}
	}
	if emptied < propExits/2 || withXIRR < emptied/2 {
		t.Errorf("only %d emptied and %d with XIRR of %d; widen the generator", emptied, withXIRR, propExits)
	}
	t.Logf("%d exits, %d emptied, %d with XIRR", propExits, emptied, withXIRR)
}

// exitFlows rebuilds the cash flows from the request and printed result, so
// the NPV check does not trust the engine's own list.
func exitFlows(req ExitRequest, res ExitResult) []cashFlow {
	var flows []cashFlow
	day := func(s string) int64 {
		d, _ := time.Parse(time.DateOnly, s)
		return d.Unix() / 86400
	}
	for _, d := range req.Disbursements {
		flows = append(flows, cashFlow{day: day(d.Date), amount: new(big.Rat).Neg(rat(d.Amount))})
	}
	for _, tr := range res.Tranches {
		flows = append(flows, cashFlow{day: day(tr.Date), amount: rat(tr.Proceeds)})
	}
	return flows
}

// npvAt evaluates Σ amount / (1 + r)^(days/365) in float64, independently of
// the solver, and returns it with the largest absolute flow.
//
// Whether the NPV is zero does not depend on the date it is valued at, but
// its float64 conditioning does: at a rate near −1 (nearly everything lost)
// valuing at the first date multiplies later flows by 10^8 or more and the
// check would only measure rounding noise. So the value is taken at the date
// of the largest discounted flow, where that flow keeps its own size; for
// ordinary rates this is the plain NPV within a factor (1 + r)^years.
func npvAt(flows []cashFlow, r float64) (npv, largest float64) {
	return npvAtDate(flows, r, refDay(flows, r))
}

// refDay is the day of the largest flow once discounted at r.
func refDay(flows []cashFlow, r float64) float64 {
	var ref float64
	best := math.Inf(-1)
	for _, f := range flows {
		v, _ := f.amount.Float64()
		if l := math.Log(math.Abs(v)) - float64(f.day)/365*math.Log1p(r); l > best {
			best, ref = l, float64(f.day)
		}
	}
	return ref
}

func npvAtDate(flows []cashFlow, r, ref float64) (npv, largest float64) {
	for _, f := range flows {
		v, _ := f.amount.Float64()
		npv += v * math.Pow(1+r, (ref-float64(f.day))/365)
		largest = math.Max(largest, math.Abs(v))
	}
	return npv, largest
}

// npvSlope is |dNPV/dr| valued like npvAt, bounding how far rounding the rate
// can move the NPV.
func npvSlope(flows []cashFlow, r float64) float64 {
	ref := refDay(flows, r)
	h := 1e-7 * math.Max(1e-3, 1+r)
	a, _ := npvAtDate(flows, r-h, ref)
	b, _ := npvAtDate(flows, r+h, ref)
	return math.Abs(b-a) / (2 * h)
}

// TestExitPolicyProperties checks the rate and buyer rules of DOMAIN §10
// against the fixed-rate engine on the random exits above: each rewritten
// request must give the fixed-rate result, field for field, except the rate
// basis it names.
func TestExitPolicyProperties(t *testing.T) {
	g := newGen()
	bases := make([]ExitRequest, propExits)
	for i := range bases {
		bases[i] = g.exit()
		bases[i].Policy.ReturnBasis = ReturnBasisFixed // so both sides print the new fields
	}
	span := func(req ExitRequest) (conv, last time.Time) {
		conv, _ = time.Parse(time.DateOnly, req.ConversionDate)
		last, _ = time.Parse(time.DateOnly, req.Tranches[len(req.Tranches)-1].Date)
		return conv, last
	}

	t.Run("TierEverywhereIsFixed", func(t *testing.T) {
		for i, base := range bases {
			// A tier reaching past the last tranche, over a policy whose own
			// basis would give another rate.
			conv, last := span(base)
			req := withPolicy(base, func(p *Policy) {
				p.Tiers = []Tier{{WithinYears: last.Year() - conv.Year() + 1 + g.rng.IntN(3), ReturnRate: p.ReturnRate}}
				if g.rng.IntN(2) == 0 {
					p.ReturnRate = g.ratio(0, 0.12)
				} else {
					p.ReturnBasis, p.ReturnRate = ReturnBasisReference, ""
					p.ReferenceRates = []ReferenceRate{{From: "2000-01-01", Rate: g.ratio(0, 0.12)}}
				}
			})
			sameExceptBasis(t, i, base, req, RateBasisFixed, RateBasisTier)
		}
	})

	t.Run("OneReferenceEntryIsFixedAtRatePlusSpread", func(t *testing.T) {
		for i, base := range bases {
			conv, _ := span(base)
			rate := rat(g.ratio(0, 0.12))
			spread := sub(rat(g.ratio(0, 0.03)), rat(g.ratio(0, 0.03)))
			if add(rate, spread).Sign() < 0 {
				spread.Neg(spread)
			}
			from := conv.AddDate(0, 0, -g.rng.IntN(2000)).Format(time.DateOnly)
			fixedReq := withPolicy(base, func(p *Policy) { p.ReturnRate = ratStr(add(rate, spread)) })
			refReq := withPolicy(base, func(p *Policy) {
				p.ReturnBasis, p.ReturnRate = ReturnBasisReference, ""
				p.ReferenceRates = []ReferenceRate{{From: from, Rate: ratStr(rate)}}
				p.Spread = ratStr(spread)
			})
			sameExceptBasis(t, i, fixedReq, refReq, RateBasisFixed, RateBasisReference)
		}
	})

	t.Run("ThirdPartyProceedsAreTheMarketValue", func(t *testing.T) {
		for i, base := range bases {
			req := withPolicy(base, func(*Policy) {})
			for k := range req.Tranches {
				req.Tranches[k].Buyer = BuyerThirdParty
				if req.Tranches[k].MarketValue == "" {
					req.Tranches[k].MarketValue = g.decimalStr(0.01, 1e8, 2)
				}
			}
			res, err := Exit(req)
			if err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			for k, tr := range res.Tranches {
				if tr.MarketValue == nil || tr.Proceeds != *tr.MarketValue || tr.Concession != "0.00" || tr.Buyer != BuyerThirdParty {
					t.Fatalf("case %d tranche %d: %+v, want proceeds = market value and no concession", i, k, tr)
				}
				if sub(rat(tr.Proceeds), rat(tr.Cost)).Cmp(rat(tr.Gain)) != 0 {
					t.Fatalf("case %d tranche %d: gain ≠ P − c", i, k)
				}
			}
		}
	})
}

// withPolicy copies a request (its policy and tranches too) and lets f
// change the copy's policy.
func withPolicy(req ExitRequest, f func(p *Policy)) ExitRequest {
	req.Tranches = slices.Clone(req.Tranches)
	f(&req.Policy)
	return req
}

// sameExceptBasis runs two requests and requires the same result, except
// that every tranche of the first names basis a and of the second basis b.
func sameExceptBasis(t *testing.T, i int, reqA, reqB ExitRequest, a, b string) {
	t.Helper()
	resA, errA := Exit(reqA)
	resB, errB := Exit(reqB)
	if errA != nil || errB != nil {
		t.Fatalf("case %d: %v / %v\n%+v\n%+v", i, errA, errB, reqA, reqB)
	}
	for k := range resA.Tranches {
		if resA.Tranches[k].RateBasis != a || resB.Tranches[k].RateBasis != b {
			t.Fatalf("case %d tranche %d: bases %s and %s, want %s and %s", i, k, resA.Tranches[k].RateBasis, resB.Tranches[k].RateBasis, a, b)
		}
		resB.Tranches[k].RateBasis = a
	}
	ja, _ := json.Marshal(resA)
	jb, _ := json.Marshal(resB)
	if string(ja) != string(jb) {
		t.Fatalf("case %d: results differ\n%s\n%s\nrequests %+v\n%+v", i, ja, jb, reqA, reqB)
	}
}

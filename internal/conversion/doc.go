// Package conversion is the exact money math of 先投后股: converting fiscal
// money already invested into equity (转股, DOMAIN §9), selling that equity
// back in stages under a capped "modest return" (适当收益退出, DOMAIN §10), and
// the calculator contract that the CLI (`server calc`), the HTTP API
// (POST /api/v1/calc), the simulator page and the conversion certificate
// (转股测算单) all share (DOMAIN §14).
//
// It is a leaf: standard library and shopspring/decimal only, no I/O. Entry
// points:
//
//   - Calculate(body) takes a JSON request of either kind and returns the JSON
//     result; RunCLI wraps it for stdin/stdout with exit codes 0 and 2.
//   - Convert(ConvertRequest) and Exit(ExitRequest) are the typed equivalents
//     for Go callers. Request and result types mirror the JSON field for field;
//     numbers are decimal strings and dates YYYY-MM-DD.
//   - Every refusal is an *InputError: a Chinese message saying what to fix and
//     the JSON path of the field ("tranches[2].units").
//   - money.go holds the rounding helpers (RoundMoney, RoundHalfUp, RoundDown,
//     Quo, ParseMoney, ...) the rest of the application uses instead of
//     decimal.Decimal.Div, whose result depends on a global precision.
//
// # Exactness and rounding
//
// Inputs are parsed from their decimal strings straight into math/big.Rat and
// every intermediate value is an exact rational. Rounding happens only where
// the spec says, once:
//
//	money (amounts, interest, cost, proceeds)  half-up to 0.01 yuan
//	units (platform G, round investor R)        down to unit_scale decimals
//	prices (reference, conversion)              printed half-up to 6 decimals
//	stakes                                      printed half-up to 8 decimals
//	MOIC                                        half-up to 6 decimals
//	XIRR                                        half-up to 8 decimals
//
// Half-up is 四舍五入 with ties away from zero. Prices and stakes are printed
// from the exact value, never recomputed from a rounded one: in example C the
// price is A / G = 2098180.82 / 333333 = 6.2945487…, printed 6.294549. Half-up
// reproduces every printed figure of §15 digit for digit (tests prove it).
// unit_scale defaults to 2 for registered capital (yuan of registered capital,
// to the fen) and 0 for shares (whole shares); 0, 1 and 2 are accepted, since
// units at par become an amount of registered capital that must be bookable.
//
// The only floating point is the XIRR root search (no closed form): Newton's
// method from 10%, falling back to bisection on a bracketing interval with a
// scaled NPV sign that does not overflow; the root is found to ~1e-13 and then
// rounded like any other figure.
//
// # Conversion (DOMAIN §9)
//
// Notation: A conversion amount, U units before the round, V the round's
// pre-money valuation, M its new money, p the conversion price, R the round
// investor's units, G the platform's units, T post-money units.
//
//  1. A = Σ disbursements + interest. Interest (optional) is simple, ACT/365,
//     from each disbursement date to the conversion date, summed exactly and
//     rounded once: I = round½↑(Σ amountᵢ × rate × daysᵢ / 365, 0.01).
//  2. Reference price: round_price p_ref = V / U; appraisal p_ref = appraised
//     value / U. Fixed methods have none (reference_price is null).
//  3. p = p_ref × (1 − discount) (basis "discount" when discount > 0, else
//     "round" or "appraisal"); with a valuation cap C, if C / U < p then
//     p = C / U (basis "cap"); with a floor price F, if F > p then p = F (basis
//     "floor"). fixed_price: p is given (basis "fixed_price"). A tie leaves the
//     earlier basis: a rule that does not change p did not set it.
//  4. R = M / (V / U) rounded down, at the round's own price whatever the
//     pricing method; R = 0 without a round.
//  5. G = A / p rounded down. fixed_stake s: G = s × (U + R) / (1 − s) rounded
//     down and p = A / G.
//  6. Stake ceiling m: if G / (U + R + G) > m then G = m × (U + R) / (1 − m)
//     rounded down, p = A / G, basis "stake_ceiling".
//  7. Par, always last: if G > A (a price below 1 yuan a unit) then G = A
//     rounded down, p = A / G, basis "par".
//  8. T = U + R + G; stake = G / T. G yuan go to registered capital (or share
//     capital, at 1 yuan a share) and A − G to capital reserve (资本公积).
//
// A result with G = 0 (not even one unit) is refused.
//
// Example A: 3,000,000 disbursed, V = 80,000,000, U = 1,000,000,
// M = 20,000,000. p_ref = p = 80.000000 (round); R = 250000.00;
// G = 3000000 / 80 = 37500.00; reserve 2962500.00; T = 1287500.00;
// stake 37500 / 1287500 = 0.02912621 (existing 0.77669903, round investor
// 0.19417476).
//
// Example B: A = 10,000,000, V = 400,000,000, U = 5,000,000, discount 0.20,
// cap 300,000,000. p_ref = 80, discounted 64, cap price 60 < 64 so
// p = 60.000000 (cap); G = 166666.666… → 166666.66; reserve 9833333.34;
// R = 30,000,000 / 80 = 375000.00; T = 5541666.66; stake 0.03007519.
//
// Example C (shares): 2,000,000 paid 2025-03-01, converted 2026-09-30
// (578 days) at 3.1%: I = 2,000,000 × 0.031 × 578 / 365 = 98180.82,
// A = 2098180.82. Appraisal 15,000,000 / 3,000,000 = 5.000000, discount 0.10
// → 4.5; G = 466262 shares would be 13.45% > 10%, so
// G = 0.1 × 3,000,000 / 0.9 = 333333.33… → 333333, p = A / G = 6.294549
// (stake_ceiling); reserve 1764847.82; T = 3333333; stake 0.09999991.
//
// Example D: 25,000 at p_ref = 10,000,000 / 2,000,000 = 5, discount → 4, cap
// 5,000,000 / 2,000,000 = 2.5 wins: p = 2.500000, 10000 shares. With
// V = 6,000,000 and U = 1,200,000 the cap price 4.1667 is above 4, so the
// discount wins: p = 4.000000, 6250 shares.
//
// # Exit (DOMAIN §10)
//
// Inputs: H units held, the disbursements (cost basis B = their sum), the
// conversion date, the policy (return basis and rate, optional tiers and
// appraisal rule, accrual start, allocation, below-cap rule) and tranches in
// date order, each with its buyer. Per tranche:
//
//   - Units u: given; or fraction × H rounded down; or "rest" (all still held).
//     Zero units, or more than still held, is refused.
//   - Cost c = round½↑(B × u / H, 0.01); the tranche that empties the holding
//     takes B − Σ earlier costs, so the costs always add up to B. (If many tiny
//     tranches rounded up would overshoot B before the last one, a cost is
//     capped at what is left; real holdings never come near this.)
//   - c is split into slices: fifo consumes disbursements oldest first;
//     pro_rata takes c × dⱼ / B from each.
//   - The rate r of a tranche dated d (see "Rates, tiers, appraisal, buyers"
//     below): the first tier reaching d, else the fixed return_rate, else the
//     reference rate in force on d plus the spread.
//   - Interest I = round½↑(Σ slice × r × days / 365, 0.01), once per tranche;
//     days run from each slice's disbursement date (accrual "disbursement") or
//     from the conversion date ("conversion") to the tranche date.
//   - Cap amount K = c + I. Team buyer (the default): with market value MV
//     unknown or MV ≥ K, proceeds P = K; with MV < K, P = MV under rule
//     "market" (loss tolerated), P = K under rule "cap" (an agreed buy-back);
//     then P = max(P, AV) when the policy requires an appraisal. Third-party
//     buyer: P = MV, the listing's transaction price. Concession (让利) =
//     MV − P when MV is known and above P, else 0. Gain = P − c.
//
// Totals add the tranches. Once the holding is empty, MOIC = ΣP / B (6
// decimals) and XIRR solves Σ CFᵢ / (1 + x)^(daysᵢ / 365) = 0 over
// −disbursements and +proceeds, days counted from the earliest flow (8
// decimals; null when there is no root, e.g. nothing was recovered).
//
// Example A exit, 37,500 units at 3% from each disbursement, FIFO, market:
// each tranche of 12500.00 costs 1,000,000.00.
//
//	2027-01-15: 1,000,000 of the 2024-01-15 payment, 1096 days:
//	            I = 90082.19, K = 1090082.19 ≤ MV 2900000.00 → P = K,
//	            concession 1809917.81
//	2028-01-15: 500,000 × 1461 days + 500,000 × 1095 days: I = 105041.10,
//	            no MV → P = 1105041.10
//	2029-01-15: 1,000,000 of the 2025-01-15 payment, 1461 days:
//	            I = 120082.19, K = 1120082.19 > MV 900000.00 → P = 900000.00,
//	            gain −100000.00
//	totals:     proceeds 3095123.29, interest 315205.48, concession
//	            1809917.81, gain 95123.29, MOIC 1.031708, XIRR 0.00911826
//
// Example B exit: 166666.66 units on 2031-06-30, 3% from the conversion
// (1826 days): I = 10,000,000 × 0.03 × 1826 / 365 = 1500821.92,
// P = 11500821.92, concession 15037536.00 − P = 3536714.08, MOIC 1.150082,
// XIRR 0.02184362.
//
// # Rates, tiers, appraisal, buyers (DOMAIN §10, §14)
//
// anniversary(N) is the conversion date plus N calendar years, 29 February
// becoming 28 February in a year without it (a conversion on 2024-02-29 has
// its first anniversary on 2025-02-28). The rate of a tranche dated d:
//
//  1. tiers [{within_years, return_rate}] (whole years ≥ 1, strictly
//     increasing; rates ≥ 0): the first tier with d ≤ anniversary(within_years)
//     gives r, basis "tier". A tier on the anniversary itself still applies.
//  2. else return_basis "fixed" (the default): r = return_rate, basis "fixed".
//  3. else return_basis "reference": r = the rate of the last reference_rates
//     entry whose from ≤ d (entries strictly increasing in from, rates ≥ 0),
//     plus spread (default 0, may be negative), basis "reference". No entry in
//     force, or r < 0, is refused; return_rate is ignored.
//
// Both lookups are binary searches (the tiers' anniversaries and the series'
// dates are strictly increasing). With appraisal_after_years N (whole ≥ 1), a
// tranche dated d > anniversary(N) must carry appraised_value AV, whoever
// buys; for the team P = max(P, AV) (state assets are not sold to insiders
// below their appraisal). An AV given when the policy does not require one is
// printed and changes nothing; a third party pays its transaction price MV
// (required) whatever the appraisal.
//
// Each tranche result then carries rate (the exact r printed half-up to 6
// decimals), rate_basis, buyer and appraised_value (null when none). A request
// that uses none of return_basis, reference_rates, spread, tiers,
// appraisal_after_years, buyer or appraised_value is an old-style request: its
// tranches print without those four fields, byte for byte as before they
// existed (TrancheResult.MarshalJSON keys this on an empty rate_basis, so a
// stored result decoded and encoded again is unchanged too).
//
// Example E: example A's 37,500.00 units (1,500,000 paid 2024-01-15 and
// 2025-01-15, converted 2026-01-15); 1-year LPR {2024-07-22 3.35%, 2024-10-21
// 3.10%, 2025-05-20 3.00%} + 0.5%; 0% within 2 years (to 2028-01-15);
// appraisal after 4 years (after 2030-01-15); from each disbursement, FIFO,
// market. Each tranche of 12500.00 costs 1,000,000.00.
//
//	2027-06-30 team, MV 2000000.00: within 2 years, r = 0 (tier), I = 0,
//	           K = 1000000.00 ≤ MV → P = 1000000.00, concession 1000000.00
//	2029-01-15 third party, listed at 1600000.00: LPR of 2025-05-20 3.00% +
//	           0.50% = 0.035000 (reference); 500,000 × 1827 days + 500,000 ×
//	           1461 days: I = 157643.84, K = 1157643.84; P = MV = 1600000.00,
//	           gain 600000.00
//	2030-03-31 team, the rest, AV 1300000.00: after 2030-01-15, so the
//	           appraisal binds; r = 0.035000, 1,000,000 × 1901 days:
//	           I = 182287.67, K = 1182287.67 (no MV) → P = max(K, AV) =
//	           1300000.00, gain 300000.00
//	totals:    proceeds 3900000.00, interest 339931.51, concession
//	           1000000.00, gain 900000.00, MOIC 1.300000, XIRR 0.06025647
//
// # Limits
//
// A request is refused before any arithmetic if it is over MaxBodyBytes, has
// more than MaxDisbursements disbursements or MaxTranches tranches, a number
// of 10^15 or more, longer than 40 characters or with more decimals than its
// kind allows (money 2, units unit_scale, prices 10, ratios 12), or a date
// outside 1900–2199. Rational sizes are then bounded, so no request can make
// the engine slow or large.
package conversion

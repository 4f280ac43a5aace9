package conversion

import "encoding/json"

// The request and result types mirror the JSON contract of DOMAIN §14 field
// for field, so that a stored certificate, the CLI, the HTTP API and a Go
// caller all speak the same language. Every number is a decimal string
// ("1500000.00") and every date a "YYYY-MM-DD" string: strings keep amounts
// exact on the wire (no float64 anywhere) and let the engine report a
// malformed value with its path instead of failing inside a JSON decoder.
// In a request an empty string means "absent". Go callers format their
// decimal.Decimal values with StringFixed and parse results with
// decimal.RequireFromString (results are always well-formed).

// Request kinds (the "kind" field).
const (
	KindConversion = "conversion"
	KindExit       = "exit"
)

// Units of ownership. Registered capital (有限责任公司) is counted in yuan of
// registered capital with 2 decimals by default; shares (股份有限公司) are
// whole shares by default.
const (
	UnitRegisteredCapital = "registered_capital"
	UnitShares            = "shares"
)

// Pricing methods (DOMAIN §9).
const (
	MethodRoundPrice = "round_price"
	MethodAppraisal  = "appraisal"
	MethodFixedPrice = "fixed_price"
	MethodFixedStake = "fixed_stake"
)

// Price bases: the rule that set the conversion price, reported in
// ConvertResult.PriceBasis.
const (
	BasisRound        = "round"
	BasisAppraisal    = "appraisal"
	BasisDiscount     = "discount"
	BasisCap          = "cap"
	BasisFloor        = "floor"
	BasisFixedPrice   = "fixed_price"
	BasisFixedStake   = "fixed_stake"
	BasisStakeCeiling = "stake_ceiling"
	BasisPar          = "par"
)

// Exit policy values (DOMAIN §10).
const (
	AccrualDisbursement = "disbursement" // interest runs from each disbursement date
	AccrualConversion   = "conversion"   // interest runs from the conversion date

	AllocationFIFO    = "fifo"     // a tranche's cost consumes the oldest disbursements first
	AllocationProRata = "pro_rata" // a tranche's cost is spread over all disbursements by amount

	BelowCapMarket = "market" // market value below the cap amount: proceeds are the market value (loss tolerated)
	BelowCapCap    = "cap"    // market value below the cap amount: proceeds are still the cap amount (agreed buy-back)

	ReturnBasisFixed     = "fixed"     // the policy's return_rate (the default)
	ReturnBasisReference = "reference" // the reference rate in force on the tranche's date plus the spread

	BuyerTeam       = "team"        // founders or existing shareholders buying back (the default)
	BuyerThirdParty = "third_party" // an outsider buying through a public listing, at the transaction price
)

// Rate bases: the rule that set a tranche's rate, reported in
// TrancheResult.RateBasis.
const (
	RateBasisTier      = "tier"
	RateBasisFixed     = "fixed"
	RateBasisReference = "reference"
)

// Limits that keep a hostile request from exhausting CPU or memory. They are
// far above any real project (a project has a handful of disbursements).
const (
	MaxBodyBytes     = 1 << 20 // largest JSON request Calculate accepts
	MaxDisbursements = 1000
	MaxTranches      = 1000
)

// Disbursement is one payment of fiscal money to the enterprise.
type Disbursement struct {
	Date   string `json:"date"`   // YYYY-MM-DD, not after the conversion date
	Amount string `json:"amount"` // yuan, > 0, at most 2 decimals
}

// Round is the market financing round that triggered the conversion.
type Round struct {
	PreMoneyValuation string `json:"pre_money_valuation"` // V, yuan, > 0
	NewMoney          string `json:"new_money"`           // M, yuan, > 0
}

// Pricing selects how the conversion price is set. Which optional fields a
// method accepts: round_price and appraisal take discount, valuation_cap and
// floor_price; appraisal needs appraised_value; fixed_price needs price;
// fixed_stake needs stake. A field a method does not use is refused rather
// than silently ignored, so that a certificate never shows terms that did not
// apply.
type Pricing struct {
	Method         string `json:"method"`
	Discount       string `json:"discount,omitempty"`        // in [0, 1), e.g. "0.20"
	ValuationCap   string `json:"valuation_cap,omitempty"`   // C, pre-money, yuan, > 0
	FloorPrice     string `json:"floor_price,omitempty"`     // F, yuan per unit, > 0
	Price          string `json:"price,omitempty"`           // fixed_price: yuan per unit, > 0
	Stake          string `json:"stake,omitempty"`           // fixed_stake: in (0, 1)
	AppraisedValue string `json:"appraised_value,omitempty"` // appraisal: equity value, yuan, > 0
}

// Interest asks for simple pre-conversion interest (ACT/365) on each
// disbursement from its date to the conversion date, added to the
// conversion amount.
type Interest struct {
	Rate string `json:"rate"` // per year, in [0, 1], e.g. "0.031"
}

// ConvertRequest is a conversion calculation ("kind":"conversion").
type ConvertRequest struct {
	Kind           string         `json:"kind"`                 // "conversion" (may be empty when calling Convert)
	Unit           string         `json:"unit"`                 // UnitRegisteredCapital or UnitShares
	UnitScale      *int           `json:"unit_scale,omitempty"` // decimals of a unit: 0, 1 or 2; default 2 for registered capital, 0 for shares
	ConversionDate string         `json:"conversion_date"`
	Disbursements  []Disbursement `json:"disbursements"`
	PreMoneyUnits  string         `json:"pre_money_units"` // U, > 0, at most unit_scale decimals
	Round          *Round         `json:"round,omitempty"` // required by round_price
	Pricing        Pricing        `json:"pricing"`
	MaxStake       string         `json:"max_stake,omitempty"` // stake ceiling m, in (0, 1)
	Interest       *Interest      `json:"interest,omitempty"`
	Explain        bool           `json:"explain,omitempty"` // add Steps to the result
}

// Stakes are the post-money ownership fractions, each rounded half-up to 8
// decimals on its own (so they may not add up to exactly 1).
type Stakes struct {
	Existing      string `json:"existing"`
	RoundInvestor string `json:"round_investor"`
	Platform      string `json:"platform"`
}

// ConvertResult is the outcome of a conversion. Money has 2 decimals, units
// exactly unit_scale decimals, prices 6 and stakes 8.
type ConvertResult struct {
	ConversionAmount      string   `json:"conversion_amount"`       // A, disbursements plus interest
	PreConversionInterest string   `json:"pre_conversion_interest"` // "0.00" without interest
	ReferencePrice        *string  `json:"reference_price"`         // null for fixed_price and fixed_stake
	ConversionPrice       string   `json:"conversion_price"`        // p
	PriceBasis            string   `json:"price_basis"`             // one of the Basis constants
	Units                 string   `json:"units"`                   // G, the platform's units
	ToRegisteredCapital   string   `json:"to_registered_capital"`   // G at par (1 yuan a unit)
	ToCapitalReserve      string   `json:"to_capital_reserve"`      // A − G
	RoundInvestorUnits    string   `json:"round_investor_units"`    // R
	PostMoneyUnits        string   `json:"post_money_units"`        // T = U + R + G
	Stake                 string   `json:"stake"`                   // G / T
	Stakes                Stakes   `json:"stakes"`
	Steps                 []string `json:"steps,omitempty"` // only when the request asked to explain
}

// Policy is the exit policy under 适当收益 (DOMAIN §10). AccrualFrom,
// Allocation and BelowCap are always required: they come from the signed
// agreement and have no safe default. ReturnRate is required with the fixed
// basis (the default) and ignored with the reference basis, which needs
// ReferenceRates instead. Tiers and AppraisalAfterYears are optional. The
// fields added for issue 17 are omitted when empty, so a stored policy that
// does not use them marshals exactly as before.
type Policy struct {
	ReturnBasis         string          `json:"return_basis,omitempty"`          // ReturnBasisFixed (default) or ReturnBasisReference
	ReturnRate          string          `json:"return_rate"`                     // r per year, simple, ACT/365, in [0, 1]
	ReferenceRates      []ReferenceRate `json:"reference_rates,omitempty"`       // the published series, strictly increasing From
	Spread              string          `json:"spread,omitempty"`                // added to the reference rate; default 0, may be negative
	Tiers               []Tier          `json:"tiers,omitempty"`                 // rates by holding time, strictly increasing WithinYears
	AppraisalAfterYears *int            `json:"appraisal_after_years,omitempty"` // N ≥ 1: a tranche after anniversary(N) needs an appraisal
	AccrualFrom         string          `json:"accrual_from"`                    // AccrualDisbursement or AccrualConversion
	Allocation          string          `json:"allocation"`                      // AllocationFIFO or AllocationProRata
	BelowCap            string          `json:"below_cap"`                       // BelowCapMarket or BelowCapCap
}

// ReferenceRate is one entry of a published rate series (e.g. the 1-year
// LPR): the annual rate in force from a date until the next entry.
type ReferenceRate struct {
	From string `json:"from"` // YYYY-MM-DD, the effective date
	Rate string `json:"rate"` // per year, ≥ 0, e.g. "0.0300"
}

// Tier sets the rate of every tranche dated on or before the conversion
// date's WithinYears-th anniversary (and after the previous tier's).
type Tier struct {
	WithinYears int    `json:"within_years"` // whole years, ≥ 1
	ReturnRate  string `json:"return_rate"`  // per year, ≥ 0; "0" means principal only
}

// Tranche is one sale. Exactly one of Units, Fraction and Rest says how many
// units it sells.
type Tranche struct {
	Date        string `json:"date"`                   // not before the conversion date nor the previous tranche
	Units       string `json:"units,omitempty"`        // units sold, > 0, at most unit_scale decimals
	Fraction    string `json:"fraction,omitempty"`     // of the original holding, in (0, 1], rounded down to the unit scale
	Rest        bool   `json:"rest,omitempty"`         // everything still held
	MarketValue string `json:"market_value,omitempty"` // of the units sold, yuan, ≥ 0; empty when unknown; the transaction price for a third party

	Buyer          string `json:"buyer,omitempty"`           // BuyerTeam (default) or BuyerThirdParty
	AppraisedValue string `json:"appraised_value,omitempty"` // of the units sold, yuan, > 0; required after anniversary(appraisal_after_years)
}

// ExitRequest is a staged exit calculation ("kind":"exit").
type ExitRequest struct {
	Kind           string         `json:"kind"`                 // "exit" (may be empty when calling Exit)
	UnitScale      *int           `json:"unit_scale,omitempty"` // 0, 1 or 2; default 2
	Units          string         `json:"units"`                // units held after conversion, > 0
	ConversionDate string         `json:"conversion_date"`
	Disbursements  []Disbursement `json:"disbursements"` // the cost basis is their sum
	Policy         Policy         `json:"policy"`
	Tranches       []Tranche      `json:"tranches"`
	Explain        bool           `json:"explain,omitempty"`
}

// TrancheResult is the outcome of one sale. Rate, RateBasis, Buyer and
// AppraisedValue are set only when the request used the exit pricing of
// DOMAIN §10 beyond a fixed rate (any of return_basis, reference_rates,
// spread, tiers, appraisal_after_years, buyer or appraised_value); see
// MarshalJSON.
type TrancheResult struct {
	Date           string  `json:"date"`
	Units          string  `json:"units"`
	Cost           string  `json:"cost"`            // c, the cost released
	Interest       string  `json:"interest"`        // I
	Rate           string  `json:"rate"`            // r, the annual rate applied, 6 decimals
	RateBasis      string  `json:"rate_basis"`      // RateBasisTier, RateBasisFixed or RateBasisReference
	Buyer          string  `json:"buyer"`           // BuyerTeam or BuyerThirdParty
	AppraisedValue *string `json:"appraised_value"` // null when none was given
	CapAmount      string  `json:"cap_amount"`      // K = c + I
	MarketValue    *string `json:"market_value"`    // null when unknown
	Proceeds       string  `json:"proceeds"`        // P
	Concession     string  `json:"concession"`      // 让利, MV − P when MV > P, else 0
	Gain           string  `json:"gain"`            // P − c, negative for a loss
}

// legacyTrancheResult is the tranche result of a request that uses none of
// the issue-17 policy fields: the contract as it was before them, field for
// field and in the same order.
type legacyTrancheResult struct {
	Date        string  `json:"date"`
	Units       string  `json:"units"`
	Cost        string  `json:"cost"`
	Interest    string  `json:"interest"`
	CapAmount   string  `json:"cap_amount"`
	MarketValue *string `json:"market_value"`
	Proceeds    string  `json:"proceeds"`
	Concession  string  `json:"concession"`
	Gain        string  `json:"gain"`
}

// MarshalJSON prints the DOMAIN §14 tranche. A result without a RateBasis
// comes from a request that used only a fixed return_rate, written before
// rate, rate_basis, buyer and appraised_value existed: it prints without
// them, so that every such request (and every stored result decoded and
// encoded again) gives byte-identical JSON. Any other result prints all
// four, appraised_value as null when none was given.
func (t TrancheResult) MarshalJSON() ([]byte, error) {
	if t.RateBasis == "" {
		return json.Marshal(legacyTrancheResult{
			Date: t.Date, Units: t.Units, Cost: t.Cost, Interest: t.Interest, CapAmount: t.CapAmount,
			MarketValue: t.MarketValue, Proceeds: t.Proceeds, Concession: t.Concession, Gain: t.Gain,
		})
	}
	type plain TrancheResult // the same fields without this method
	return json.Marshal(plain(t))
}

// Totals sum the tranches. MOIC and XIRR are null until the holding is
// emptied; XIRR is also null when the cash flows have no internal rate.
type Totals struct {
	UnitsSold      string  `json:"units_sold"`
	UnitsRemaining string  `json:"units_remaining"`
	CostReleased   string  `json:"cost_released"`
	Proceeds       string  `json:"proceeds"`
	Interest       string  `json:"interest"`
	Concession     string  `json:"concession"`
	Gain           string  `json:"gain"`
	MOIC           *string `json:"moic"` // proceeds / cost basis, 6 decimals
	XIRR           *string `json:"xirr"` // ACT/365, 8 decimals
}

// ExitResult is the outcome of a staged exit.
type ExitResult struct {
	Tranches []TrancheResult `json:"tranches"`
	Totals   Totals          `json:"totals"`
	Steps    []string        `json:"steps,omitempty"`
}

package server

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"ite/internal/applications"
	"ite/internal/conversion"
	"ite/internal/day"
	"ite/web/page"
	"ite/web/ui"
)

// simulatorAccess is who may use the simulator (see calcRoutes), and its
// entry in the menu: both the page and its result carry it, the page
// (first in the table) is the link.
var simulatorAccess = can(applications.ActionUseSimulator).inMenu(navSimulator, "转股测算")

// simulatorExample is DOMAIN §15 example A, shown when the page is opened
// without a scenario: conversion at the round's price and a three-tranche
// exit at 3% from each disbursement.
var simulatorExample = page.SimulatorForm{
	Unit:     conversion.UnitRegisteredCapital,
	PreUnits: "1000000",
	ConvDate: "2026-01-15",
	Disbursements: []page.SimDisbursement{
		{Date: "2024-01-15", Amount: "1500000.00"},
		{Date: "2025-01-15", Amount: "1500000.00"},
		{}, {},
	},
	Valuation:  "80000000",
	NewMoney:   "20000000",
	Method:     conversion.MethodRoundPrice,
	ReturnRate: "0.03",
	Accrual:    conversion.AccrualDisbursement,
	Allocation: conversion.AllocationFIFO,
	BelowCap:   conversion.BelowCapMarket,
	Tranches: []page.SimTranche{
		{Date: "2027-01-15", Mode: page.SimModeUnits, Qty: "12500.00", MarketValue: "2900000.00"},
		{Date: "2028-01-15", Mode: page.SimModeUnits, Qty: "12500.00"},
		{Date: "2029-01-15", Mode: page.SimModeRest, MarketValue: "900000.00"},
		{Mode: page.SimModeUnits}, {Mode: page.SimModeUnits},
	},
}

// handleSimulator is the simulator page (GET /simulator?<scenario>). The
// scenario lives in the query string so it can be shared; the page is
// computed here in full, so it works without JavaScript. A scenario the
// calculator refuses is answered 422 with the message next to its input.
func (s *Server) handleSimulator(w http.ResponseWriter, r *http.Request) error {
	v, err := s.simulate(r)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if v.Failed() {
		status = http.StatusUnprocessableEntity
	}
	return s.render(w, r, status, page.Simulator(v))
}

// handleSimulatorResult is the fragment the form's htmx request fetches
// (GET /simulator/result?<scenario>) on every change: the result area plus
// the error slots, swapped out of band. HX-Push-Url puts the page's own
// address (/simulator?<scenario>, not this fragment's) in the address bar
// and history, so the URL the user copies opens the same scenario.
//
// A refused scenario is still answered 200 here, with the error rendered:
// htmx 2 does not swap 4xx responses by default, and changing that
// (htmx.config.responseHandling) would apply to every htmx request in the
// application, where a 4xx carries a full error page that must not be
// swapped into a fragment's target. The full page keeps the honest 422.
func (s *Server) handleSimulatorResult(w http.ResponseWriter, r *http.Request) error {
	v, err := s.simulate(r)
	if err != nil {
		return err
	}
	w.Header().Set("HX-Push-Url", "/simulator?"+v.Form.Query())
	return s.render(w, r, http.StatusOK, page.SimulatorFragment(v))
}

// simulate reads the scenario (example A when the query is empty) and
// computes it; a reference series chosen from the rate table is filled in
// from it.
func (s *Server) simulate(r *http.Request) (page.SimulatorView, error) {
	ss, err := s.DB.ListRateSeries(r.Context())
	if err != nil {
		return page.SimulatorView{}, err
	}
	q := r.URL.Query()
	f := simulatorExample
	if len(q) > 0 {
		f = normaliseSimAmounts(page.SimulatorFormFrom(q))
	}
	return simulate(f, ss), nil
}

// normaliseSimAmounts reads the scenario's amounts of yuan as finance staff
// type them (300万, 3,000,000.00: typedAmount), so the page and the address
// it pushes show them back in one spelling. Unit prices, units and rates are
// not amounts of yuan and stay as typed.
func normaliseSimAmounts(f page.SimulatorForm) page.SimulatorForm {
	f.Valuation, f.NewMoney, f.Cap, f.Appraised = typedAmount(f.Valuation), typedAmount(f.NewMoney), typedAmount(f.Cap), typedAmount(f.Appraised)
	f.Disbursements = append([]page.SimDisbursement(nil), f.Disbursements...)
	for i := range f.Disbursements {
		f.Disbursements[i].Amount = typedAmount(f.Disbursements[i].Amount)
	}
	f.Tranches = append([]page.SimTranche(nil), f.Tranches...)
	for i := range f.Tranches {
		f.Tranches[i].MarketValue = typedAmount(f.Tranches[i].MarketValue)
		f.Tranches[i].Appraised = typedAmount(f.Tranches[i].Appraised)
	}
	return f
}

// simulate runs the conversion and, when tranches are given, the exit on
// the units it yields.
func simulate(f page.SimulatorForm, series []applications.RateSeries) page.SimulatorView {
	v := page.SimulatorView{Form: f, Errors: ui.Errors{}}
	for _, x := range series {
		v.Series = append(v.Series, page.SimSeries{Code: x.Code, Name: x.Name})
	}
	p := newSimPlan(f)
	if p.formErr == nil && f.Series != "" {
		p.fillSeries(f.Series, series, &v)
	}
	if p.formErr != nil {
		v.Errors[p.formErr.Field] = p.formErr.Message
		return v
	}
	conv, err := conversion.Convert(p.convert)
	if err != nil {
		p.refuse(&v, err)
		return v
	}
	v.Conversion = &conv
	if len(p.exit.Tranches) == 0 {
		return v
	}
	p.exit.Units = conv.Units
	ex, err := conversion.Exit(p.exit)
	if err != nil {
		v.Conversion = nil
		p.refuse(&v, err)
		return v
	}
	v.Exit, v.ExitReq = &ex, p.exit
	return v
}

// fillSeries puts the rate table's entries of the chosen series (up to the
// last tranche's date) into the exit request.
func (p *simPlan) fillSeries(code string, series []applications.RateSeries, v *page.SimulatorView) {
	for _, x := range series {
		if x.Code != code {
			continue
		}
		upTo := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
		if n := len(p.exit.Tranches); n > 0 {
			if d, err := day.Parse(p.exit.Tranches[n-1].Date); err == nil {
				upTo = d
			}
		}
		p.exit.Policy.ReferenceRates = x.ReferenceRates(upTo)
		v.SeriesName = x.Name
		return
	}
	p.formErr = &conversion.InputError{Field: "series", Message: "参考利率表中没有这个序列，请重新选择。"}
}

// simPlan is a form turned into calculator requests, remembering which form
// row each disbursement and tranche came from (blank rows are skipped) so
// that an error about "tranches[1]" lands next to the right input.
type simPlan struct {
	convert conversion.ConvertRequest
	exit    conversion.ExitRequest
	dRows   []int // request index → form row (1-based)
	tRows   []int
	formErr *conversion.InputError // a mistake the form itself catches, Field a form name
}

func newSimPlan(f page.SimulatorForm) *simPlan {
	p := &simPlan{}
	var ds []conversion.Disbursement
	for i, d := range f.Disbursements {
		if !d.Blank() {
			ds = append(ds, conversion.Disbursement{Date: d.Date, Amount: d.Amount})
			p.dRows = append(p.dRows, i+1)
		}
	}
	c := conversion.ConvertRequest{
		Kind: conversion.KindConversion, Unit: f.Unit, ConversionDate: f.ConvDate, Disbursements: ds,
		PreMoneyUnits: f.PreUnits, MaxStake: f.MaxStake, Explain: true,
		Pricing: conversion.Pricing{Method: f.Method, Discount: f.Discount, ValuationCap: f.Cap,
			FloorPrice: f.Floor, Price: f.Price, Stake: f.Stake, AppraisedValue: f.Appraised},
	}
	if f.Valuation != "" || f.NewMoney != "" {
		c.Round = &conversion.Round{PreMoneyValuation: f.Valuation, NewMoney: f.NewMoney}
	}
	if f.Interest != "" {
		c.Interest = &conversion.Interest{Rate: f.Interest}
	}
	p.convert = c

	scale := 2
	if f.Unit == conversion.UnitShares {
		scale = 0
	}
	e := conversion.ExitRequest{
		Kind: conversion.KindExit, UnitScale: &scale, ConversionDate: f.ConvDate, Disbursements: ds, Explain: true,
		Policy: conversion.Policy{ReturnRate: f.ReturnRate, AccrualFrom: f.Accrual, Allocation: f.Allocation, BelowCap: f.BelowCap,
			ReturnBasis: f.Basis, Spread: f.Spread},
	}
	if f.Basis == conversion.ReturnBasisFixed {
		e.Policy.ReturnBasis = "" // the default: an old-style request prints as before
	}
	if f.Series == "" && f.Rates != "" {
		for _, item := range simItems(f.Rates) {
			d, r, ok := strings.Cut(strings.NewReplacer("：", " ", ":", " ", "=", " ").Replace(item), " ")
			if !ok {
				p.formErr = &conversion.InputError{Field: "rates", Message: "参考利率请按“生效日期 年利率”逐条填写，如 2025-05-20 0.0300，条目之间用逗号分隔。"}
				return p
			}
			e.Policy.ReferenceRates = append(e.Policy.ReferenceRates, conversion.ReferenceRate{From: strings.TrimSpace(d), Rate: strings.TrimSpace(r)})
		}
	}
	if f.Tiers != "" {
		for _, item := range simItems(f.Tiers) {
			y, r, ok := strings.Cut(strings.NewReplacer("：", ":").Replace(item), ":")
			n, err := strconv.Atoi(strings.TrimSpace(y))
			if !ok || err != nil {
				p.formErr = &conversion.InputError{Field: "tiers", Message: "阶梯利率请按“持股年限:年利率”填写，如 2:0 表示转股后 2 年内按本金，多档用逗号分隔。"}
				return p
			}
			e.Policy.Tiers = append(e.Policy.Tiers, conversion.Tier{WithinYears: n, ReturnRate: strings.TrimSpace(r)})
		}
	}
	if f.AppraisalYrs != "" {
		n, err := strconv.Atoi(f.AppraisalYrs)
		if err != nil {
			p.formErr = &conversion.InputError{Field: "appraisal_years", Message: "“满几年后须评估”请填写整数年数，如 4。"}
			return p
		}
		e.Policy.AppraisalAfterYears = &n
	}
	for i, t := range f.Tranches {
		if t.Blank() {
			continue
		}
		row := i + 1
		tr := conversion.Tranche{Date: t.Date, MarketValue: t.MarketValue, AppraisedValue: t.Appraised}
		if t.Buyer == conversion.BuyerThirdParty {
			tr.Buyer = t.Buyer
		} else if t.Buyer != "" && t.Buyer != conversion.BuyerTeam {
			p.formErr = &conversion.InputError{Field: page.SimTrancheField(row, "buyer"), Message: "请选择受让方：团队回购或第三方（产权交易所挂牌）。"}
			return p
		}
		switch t.Mode {
		case page.SimModeUnits, page.SimModeFraction:
			if t.Qty == "" {
				p.formErr = &conversion.InputError{Field: page.SimTrancheField(row, "qty"),
					Message: "请填写第 " + strconv.Itoa(row) + " 笔退出的数量（单位数，或按比例时的比例，如 0.25），或把出售方式改为“剩余全部”。"}
				return p
			}
			if t.Mode == page.SimModeUnits {
				tr.Units = t.Qty
			} else {
				tr.Fraction = t.Qty
			}
		case page.SimModeRest:
			tr.Rest = true
		default:
			p.formErr = &conversion.InputError{Field: page.SimTrancheField(row, "mode"),
				Message: "请选择第 " + strconv.Itoa(row) + " 笔退出的出售方式：按单位数、按原持有比例或剩余全部。"}
			return p
		}
		e.Tranches = append(e.Tranches, tr)
		p.tRows = append(p.tRows, row)
	}
	p.exit = e
	return p
}

// refuse puts the calculator's error next to the input it names.
func (p *simPlan) refuse(v *page.SimulatorView, err error) {
	var ie *conversion.InputError
	if !errors.As(err, &ie) {
		v.FormError = "测算失败，请检查输入后重试。"
		return
	}
	if name := p.inputFor(ie.Field); name != "" {
		v.Errors[name] = ie.Message
		return
	}
	v.FormError = ie.Message
}

// simInputs maps the calculator's field paths to the form's inputs.
var simInputs = map[string]string{
	"unit":                         "unit",
	"pre_money_units":              "pre_units",
	"conversion_date":              "conv_date",
	"disbursements":                "disbursements",
	"round":                        "valuation",
	"round.pre_money_valuation":    "valuation",
	"round.new_money":              "new_money",
	"pricing.method":               "method",
	"pricing.discount":             "discount",
	"pricing.valuation_cap":        "cap",
	"pricing.floor_price":          "floor",
	"pricing.price":                "price",
	"pricing.stake":                "stake",
	"pricing.appraised_value":      "appraised",
	"max_stake":                    "max_stake",
	"interest.rate":                "interest",
	"policy.return_rate":           "return_rate",
	"policy.accrual_from":          "accrual",
	"policy.allocation":            "allocation",
	"policy.below_cap":             "below_cap",
	"policy.return_basis":          "basis",
	"policy.reference_rates":       "rates",
	"policy.spread":                "spread",
	"policy.tiers":                 "tiers",
	"policy.appraisal_after_years": "appraisal_years",
	"tranches":                     "tranches",
}

var simListField = regexp.MustCompile(`^(disbursements|tranches)\[(\d+)\](?:\.(\w+))?$`)

// inputFor is the form input a calculator field path refers to, or "" when
// no single input is at fault.
func (p *simPlan) inputFor(field string) string {
	if name, ok := simInputs[field]; ok {
		return name
	}
	for _, list := range []string{"policy.reference_rates", "policy.tiers"} {
		if strings.HasPrefix(field, list+"[") {
			return simInputs[list]
		}
	}
	m := simListField.FindStringSubmatch(field)
	if m == nil {
		return ""
	}
	i, err := strconv.Atoi(m[2])
	if err != nil {
		return ""
	}
	if m[1] == "disbursements" {
		if i >= len(p.dRows) {
			return "disbursements"
		}
		if m[3] == "date" {
			return page.SimDisbursementField(p.dRows[i], "date")
		}
		return page.SimDisbursementField(p.dRows[i], "amount")
	}
	if i >= len(p.tRows) {
		return "tranches"
	}
	switch m[3] {
	case "date":
		return page.SimTrancheField(p.tRows[i], "date")
	case "market_value":
		return page.SimTrancheField(p.tRows[i], "mv")
	case "rest":
		return page.SimTrancheField(p.tRows[i], "mode")
	case "buyer":
		return page.SimTrancheField(p.tRows[i], "buyer")
	case "appraised_value":
		return page.SimTrancheField(p.tRows[i], "av")
	}
	return page.SimTrancheField(p.tRows[i], "qty") // units, fraction, or the tranche as a whole
}

// simItems splits a typed list on commas, semicolons or new lines.
func simItems(s string) []string {
	var out []string
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' || r == ';' || r == '；' || r == '\n' }) {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

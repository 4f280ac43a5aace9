package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/conversion"
	"ite/internal/day"
	"ite/internal/postgres"
	"ite/web/format"
	"ite/web/page"
)

// exitRoutes: exits from a converted holding.
func (s *Server) exitRoutes() []route {
	return []route{
		{"POST", "/applications/{id}/exits", can(applications.ActionPrepareExit), s.handleExitPrepare},
		{"POST", "/exits/{id}/approve", can(applications.ActionApproveEquityProposal), s.handleExitApprove},
		{"GET", "/exits/{id}", can(applications.ActionReadApplications), s.handleExitShow},
		{"POST", "/exits/{id}/receipt", can(applications.ActionRecordExitReceipt), s.handleExitReceipt},
	}
}

// handleExitReceipt records that an approved exit's proceeds arrived
// (POST /exits/{id}/receipt): the date, the amount (equal to the approved
// proceeds) and the bank's reference. A refusal is shown on the equity
// page beside its input, with what was typed.
func (s *Server) handleExitReceipt(w http.ResponseWriter, r *http.Request) error {
	id, a, err := s.parentApplication(r, "exits")
	if err != nil {
		return err
	}
	appID := a.ID
	in := postgres.ExitReceiptInput{Reference: r.PostFormValue("reference")}
	d, err := day.Parse(r.PostFormValue("received_on"))
	if err != nil {
		return s.equityRefuse(w, r, appID, applications.FieldError("received_on", "请填写回款到账日期，格式为 年-月-日。"))
	}
	in.ReceivedOn = d
	if in.Amount, err = applications.AmountField("amount", r.PostFormValue("amount")); err != nil {
		return s.equityRefuse(w, r, appID, err)
	}
	if _, err := s.DB.RecordExitReceipt(r.Context(), actor(r), id, in, r.PostFormValue("idempotency_key")); err != nil {
		return s.equityRefuse(w, r, appID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(appID, "/equity"), "退出回款已登记。")
}

// exitPlan projects the terms' exit schedule from the conversion: each
// step's units and the proceeds at the cap (no market value).
func exitPlan(t applications.Terms, convs []postgres.Conversion, base conversion.ExitRequest) []page.ExitPlanRow {
	var c *postgres.Conversion
	for i := range convs {
		if convs[i].Status == applications.ConversionApproved {
			c = &convs[i]
		}
	}
	if c == nil || len(t.ExitSchedule) == 0 {
		return nil
	}
	req := base
	req.Tranches = nil
	for _, step := range t.ExitSchedule {
		req.Tranches = append(req.Tranches, conversion.Tranche{Date: c.ConversionDate.AddDate(step.YearsAfterConversion, 0, 0).Format(time.DateOnly),
			Fraction: step.Fraction, Rest: step.Rest})
	}
	res, err := conversion.Exit(req)
	if err != nil {
		return nil
	}
	var rows []page.ExitPlanRow
	for i, tr := range res.Tranches {
		share := t.ExitSchedule[i].Fraction
		if t.ExitSchedule[i].Rest {
			share = "剩余全部"
		}
		d, _ := decimal.NewFromString(tr.Proceeds)
		rows = append(rows, page.ExitPlanRow{Date: tr.Date, Share: share, Units: tr.Units, Projected: format.Yuan(d)})
	}
	return rows
}

// handleExitPrepare records an exit tranche (POST /applications/{id}/exits):
// the buyer, for a public listing the exchange, listing number and
// transaction price, and the appraisal with its report file. A refusal
// re-renders the equity page with the message beside its input and the
// values typed.
func (s *Server) handleExitPrepare(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	form, report, drop, err := s.formWithEvidence(w, r)
	if err != nil {
		return s.equityRefuse(w, r, a.ID, err)
	}
	refuse := func(err error) error {
		drop()
		return s.equityRefuseForm(w, r, a.ID, err, form)
	}
	v := func(name string) string { return strings.TrimSpace(form.Get(name)) }
	in := postgres.ExitInput{Units: v("units"), Rest: form.Get("rest") == "1", BuyerKind: form.Get("buyer_kind"),
		Buyer: v("buyer"), MarketValue: typedAmount(v("market_value")), Exchange: v("exchange"), ListingNo: v("listing_no"),
		Appraiser: v("appraiser"), ReportNo: v("report_no"), AppraisedValue: typedAmount(v("appraised_value")), FilingNo: v("filing_no"),
		Report: report}
	d, perr := day.Parse(form.Get("date"))
	if perr != nil {
		return refuse(applications.FieldError("date", "请填写退出日期。"))
	}
	in.Date = d
	if v("report_date") != "" {
		rd, err := day.Parse(v("report_date"))
		if err != nil {
			return refuse(applications.FieldError("report_date", "评估报告日期格式应为 年-月-日。"))
		}
		in.ReportDate = rd
	}
	if in.BuyerKind == applications.BuyerThirdParty {
		// The listing's transaction price is the market value (DOMAIN §10).
		tp := typedAmount(v("transaction_price"))
		if in.MarketValue != "" && tp != "" && in.MarketValue != tp {
			return refuse(applications.FieldError("market_value", "第三方挂牌受让时市场价值即成交价：请只填写成交价。"))
		}
		if tp != "" {
			in.MarketValue = tp
		}
	}
	if in.Rest {
		in.Units = ""
	}
	if in.Units == "" && !in.Rest {
		return refuse(applications.FieldError("units", "请填写退出单位数，或勾选“退出剩余全部”。"))
	}
	if _, err := s.DB.PrepareExit(r.Context(), actor(r), a.ID, in, form.Get("idempotency_key")); err != nil {
		var e *applications.Error
		if in.BuyerKind == applications.BuyerThirdParty && errors.As(err, &e) && e.Field == "market_value" {
			err = applications.FieldError("transaction_price", e.Message)
		}
		return refuse(err)
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "/equity"), "退出已测算并提交审批。")
}

// handleExitShow is an exit tranche's record (GET /exits/{id}): the 退出确认单
// with every figure, the rate used, its basis and the series entry, the
// listing and the appraisal, all read from the stored request and result.
func (s *Server) handleExitShow(w http.ResponseWriter, r *http.Request) error {
	id, a, err := s.parentApplication(r, "exits")
	if err != nil {
		return err
	}
	appID := a.ID
	xs, err := s.DB.ListExits(r.Context(), appID)
	if err != nil {
		return err
	}
	for _, x := range xs {
		if x.ID == id {
			v, err := exitRecord(a, x)
			if err != nil {
				return err
			}
			return s.render(w, r, http.StatusOK, page.ExitRecord(v))
		}
	}
	return applications.Errorf(applications.NotFound, "退出记录不存在。")
}

// exitRecord recomputes the exit from its stored request (never from
// today's rate table) and explains the tranche's price.
func exitRecord(a applications.Application, x postgres.Exit) (page.ExitRecordView, error) {
	v := page.ExitRecordView{App: a, Exit: x}
	var req conversion.ExitRequest
	if err := json.Unmarshal([]byte(x.RequestText), &req); err != nil {
		return v, err
	}
	res, err := conversion.Exit(req)
	if err != nil {
		return v, err
	}
	v.Request, v.Result = req, res
	v.Tranche = res.Tranches[len(res.Tranches)-1]
	v.RateSource = applications.RateSource(req, v.Tranche, x.RateSeriesName)
	v.Explain = applications.ExplainTranche(req, v.Tranche, x.RateSeriesName)
	return v, nil
}

// handleExitApprove (POST /exits/{id}/approve).
func (s *Server) handleExitApprove(w http.ResponseWriter, r *http.Request) error {
	return s.approveProposal(w, r, "exits", s.DB.ApproveExit, said("退出已批准并记账（收回的转让款记入 1002，冲减 1511 成本，差额记入 6111 收益或 6711 损失）。"+
		"下一步：受托管理机构按确认单向受让方收取转让款并办理股权变更登记；仍有持股的，"+
		"由经办人或受托管理机构按退出计划登记下一期退出，再由审批人审批；全部退出后项目为已退出。"))
}

package server

import (
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
	}
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

// handleExitPrepare records an exit tranche (POST /applications/{id}/exits).
func (s *Server) handleExitPrepare(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	in := postgres.ExitInput{Units: strings.TrimSpace(r.PostFormValue("units")), Rest: r.PostFormValue("rest") == "1",
		BuyerKind: r.PostFormValue("buyer_kind"), Buyer: strings.TrimSpace(r.PostFormValue("buyer")),
		MarketValue: strings.TrimSpace(r.PostFormValue("market_value"))}
	d, perr := day.Parse(r.PostFormValue("date"))
	if perr != nil {
		return s.equityRefuse(w, r, a.ID, applications.FieldError("date", "请填写退出日期。"))
	}
	in.Date = d
	if in.Rest {
		in.Units = ""
	}
	if in.Units == "" && !in.Rest {
		return s.equityRefuse(w, r, a.ID, applications.FieldError("units", "请填写退出单位数，或勾选“退出剩余全部”。"))
	}
	if _, err := s.DB.PrepareExit(r.Context(), actor(r), a.ID, in, r.PostFormValue("idempotency_key")); err != nil {
		return s.equityRefuse(w, r, a.ID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "/equity"), "退出已测算并提交审批。")
}

// handleExitApprove (POST /exits/{id}/approve).
func (s *Server) handleExitApprove(w http.ResponseWriter, r *http.Request) error {
	return s.approveProposal(w, r, "exits", s.DB.ApproveExit, "退出已批准并记账。")
}

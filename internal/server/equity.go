package server

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/conversion"
	"ite/internal/ledger"
	"ite/internal/postgres"
	"ite/web/format"
	"ite/web/layout"
	"ite/web/page"
	"ite/web/ui"
)

func init() {
	layout.AddNav(layout.NavItem{Label: "关注清单", Href: "/watchlist"}, staff, approver, auditor)
	layout.AddNav(layout.NavItem{Label: "股权台账", Href: "/equity"}, staff, approver, auditor)
}

// equityRoutes: trigger events, conversion, exits, endings, watchlist and
// the equity register (issue 7).
func (s *Server) equityRoutes() []route {
	readers := only(enterprise, staff, approver, auditor)
	return []route{
		{"GET", "/applications/{id}/equity", readers, s.handleEquity},
		{"POST", "/applications/{id}/events", only(enterprise, staff), s.handleEventReport},
		{"POST", "/events/{id}/verify", only(staff), s.handleEventVerify},
		{"POST", "/applications/{id}/conversion", only(staff), s.handleConversionPrepare},
		{"POST", "/conversions/{id}/approve", only(approver), s.handleConversionApprove},
		{"POST", "/conversions/{id}/registration", only(staff), s.handleRegistration},
		{"GET", "/conversions/{id}/certificate", readers, s.handleCertificate},
		{"POST", "/applications/{id}/exits", only(staff), s.handleExitPrepare},
		{"POST", "/exits/{id}/approve", only(approver), s.handleExitApprove},
		{"POST", "/applications/{id}/endings", only(staff), s.handleEndingPrepare},
		{"POST", "/endings/{id}/approve", only(approver), s.handleEndingApprove},
		{"POST", "/proposals/{kind}/{id}/reject", only(approver), s.handleProposalReject},
		{"GET", "/watchlist", only(staff, approver, auditor), s.handleWatchlist},
		{"GET", "/equity", only(staff, approver, auditor), s.handleEquityRegister},
	}
}

// handleEquity is a project's post-investment page (GET /applications/{id}/equity).
func (s *Server) handleEquity(w http.ResponseWriter, r *http.Request) error {
	if err := s.sweepDue(r, &s.lapses, s.DB.EvaluateLapses); err != nil {
		return err
	}
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	return s.renderEquity(w, r, http.StatusOK, a, nil, "")
}

func (s *Server) renderEquity(w http.ResponseWriter, r *http.Request, status int, a applications.Application, errs ui.Errors, msg string) error {
	ctx := r.Context()
	u := currentUser(r)
	a, err := s.DB.FindApplication(ctx, a.ID)
	if err != nil {
		return err
	}
	g, err := s.DB.SignedAgreement(ctx, a.ID)
	if applications.ErrorKind(err) == applications.NotFound {
		return applications.Errorf(applications.NotFound, "项目尚未签约，没有投后管理信息。")
	} else if err != nil {
		return err
	}
	v := page.EquityView{App: a, Terms: g.Terms, SignedOn: format.Date(g.SignedOn), WindowEnd: format.Date(g.Terms.WindowEnd(g.SignedOn)),
		Errors: errs, FormError: msg, IdemKey: newFormKey(r.Context()), Unit: g.Terms.Unit,
		CanReport: (u.Role == enterprise || u.Role == staff) && a.State == applications.StateFunded,
		CanVerify: u.Role == staff, CanApprove: u.Role == approver, CanRegister: u.Role == staff}
	if v.Errors == nil {
		v.Errors = ui.Errors{}
	}
	if v.Events, err = s.DB.ListEvents(ctx, a.ID); err != nil {
		return err
	}
	if v.Conversions, err = s.DB.ListConversions(ctx, a.ID); err != nil {
		return err
	}
	pendingConv := false
	for _, c := range v.Conversions {
		pendingConv = pendingConv || c.Status == "pending"
	}
	if a.State == applications.StateConversionDue && !pendingConv && u.Role != enterprise {
		v.Appraised = r.URL.Query().Get("appraised")
		p, err := s.DB.PreviewConversion(ctx, a.ID, v.Appraised)
		if err != nil {
			return err
		}
		v.Preview, v.CanPrepareConv = &p, u.Role == staff
	}
	if v.Exits, err = s.DB.ListExits(ctx, a.ID); err != nil {
		return err
	}
	converted := a.State == applications.StateConverted || a.State == applications.StateExiting || a.State == applications.StateExited
	if converted {
		realised, err := s.DB.PreviewExit(ctx, a.ID, nil)
		if err != nil {
			return err
		}
		if len(realised.Result.Tranches) > 0 {
			v.Realised = &realised.Result.Totals
		}
		v.ExitPlan = exitPlan(g.Terms, v.Conversions, realised.Request)
		pendingExit := false
		for _, x := range v.Exits {
			pendingExit = pendingExit || x.Status == "pending"
		}
		v.CanPrepareExit = u.Role == staff && a.State != applications.StateExited && !pendingExit
	}
	if v.Endings, err = s.DB.ListEndings(ctx, a.ID); err != nil {
		return err
	}
	pendingEnding := false
	for _, n := range v.Endings {
		pendingEnding = pendingEnding || n.Status == "pending"
	}
	if u.Role == staff && !pendingEnding {
		v.EndingKinds = endingOptions(a.State)
	}
	return s.render(w, r, status, page.Equity(v))
}

// endingOptions lists what staff may prepare in a state (DOMAIN §4).
func endingOptions(st applications.State) []ui.Option {
	var kinds []string
	switch st {
	case applications.StateLapsed:
		kinds = []string{postgres.EndingGrant, postgres.EndingRepay, postgres.EndingExtend}
	case applications.StateRecovery:
		kinds = []string{postgres.EndingReceipt, postgres.EndingWriteOff}
	case applications.StateFunded, applications.StateConverted, applications.StateExiting:
		kinds = []string{postgres.EndingWriteOff}
	}
	if len(kinds) == 0 {
		return nil
	}
	opts := []ui.Option{{Value: "", Label: "请选择"}}
	for _, k := range kinds {
		opts = append(opts, ui.Option{Value: k, Label: postgres.EndingLabel(k)})
	}
	return opts
}

// exitPlan projects the terms' exit schedule from the conversion: each
// step's units and the proceeds at the cap (no market value).
func exitPlan(t applications.Terms, convs []postgres.Conversion, base conversion.ExitRequest) []page.ExitPlanRow {
	var c *postgres.Conversion
	for i := range convs {
		if convs[i].Status == "approved" {
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

func (s *Server) equityRefuse(w http.ResponseWriter, r *http.Request, appID int64, err error) error {
	k := applications.ErrorKind(err)
	if k != applications.Conflict && k != applications.Invalid && k != applications.Forbidden {
		return err
	}
	errs := ui.Errors{}
	addFieldError(errs, err)
	a, ferr := s.DB.FindApplication(r.Context(), appID)
	if ferr != nil {
		return err
	}
	return s.renderEquity(w, r, statusOf[k], a, errs, applications.ErrorMessage(err))
}

func (s *Server) toEquity(w http.ResponseWriter, r *http.Request, appID int64, msg string) error {
	s.flash(w, r, "success", msg)
	http.Redirect(w, r, "/applications/"+strconv.FormatInt(appID, 10)+"/equity", http.StatusSeeOther)
	return nil
}

func optionalMoney(field, v string) (decimal.Decimal, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return decimal.Zero, nil
	}
	d, err := conversion.ParseMoney(v)
	if err != nil {
		return d, applications.FieldError(field, "请填写金额（元），最多两位小数，不带逗号。")
	}
	return d, nil
}

// handleEventReport records a trigger event (POST /applications/{id}/events).
func (s *Server) handleEventReport(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	form, evidence, drop, err := s.formWithEvidence(w, r)
	if err != nil {
		return s.equityRefuse(w, r, a.ID, err)
	}
	e := applications.TriggerEvent{ApplicationID: a.ID, Kind: form.Get("kind"), Investors: strings.TrimSpace(form.Get("investors")),
		Unit: form.Get("unit"), Description: strings.TrimSpace(form.Get("description"))}
	if d, err := time.Parse(time.DateOnly, form.Get("event_date")); err == nil {
		e.EventDate = d
	}
	if d, err := time.Parse(time.DateOnly, form.Get("period_start")); err == nil {
		e.PeriodStart = d
	}
	for field, dst := range map[string]*decimal.Decimal{"new_money": &e.NewMoney, "pre_money_valuation": &e.PreMoneyValuation,
		"pre_money_units": &e.PreMoneyUnits, "amount": &e.Amount} {
		if e.Kind == applications.EventFinancing && field == "amount" || e.Kind != applications.EventFinancing && field != "amount" {
			continue
		}
		d, err := optionalMoney(field, form.Get(field))
		if err != nil {
			drop()
			return s.equityRefuse(w, r, a.ID, err)
		}
		*dst = d
	}
	if e.Kind != applications.EventFinancing {
		e.Unit = ""
	}
	if _, err := s.DB.ReportEvent(r.Context(), actor(r), e, evidence); err != nil {
		drop()
		return s.equityRefuse(w, r, a.ID, err)
	}
	return s.toEquity(w, r, a.ID, "已报告，等待经办人员核实。")
}

// handleEventVerify verifies or rejects an event (POST /events/{id}/verify).
func (s *Server) handleEventVerify(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var appID int64
	if err := s.DB.Pool.QueryRow(r.Context(), `SELECT application_id FROM trigger_events WHERE id = $1`, id).Scan(&appID); err != nil {
		return applications.Errorf(applications.NotFound, "事项不存在。")
	}
	verify := r.PostFormValue("decision") == "verify"
	if err := s.DB.VerifyEvent(r.Context(), actor(r), id, verify, strings.TrimSpace(r.PostFormValue("reason"))); err != nil {
		return s.equityRefuse(w, r, appID, err)
	}
	return s.toEquity(w, r, appID, "已处理。")
}

// handleConversionPrepare submits the conversion for approval
// (POST /applications/{id}/conversion).
func (s *Server) handleConversionPrepare(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	if _, err := s.DB.PrepareConversion(r.Context(), actor(r), a.ID, strings.TrimSpace(r.PostFormValue("appraised")), r.PostFormValue("idempotency_key")); err != nil {
		return s.equityRefuse(w, r, a.ID, err)
	}
	return s.toEquity(w, r, a.ID, "转股已提交审批人审批。")
}

// parentApp reads the route's conversion, exit or ending ID (table names
// which) and the project it belongs to.
func (s *Server) parentApp(r *http.Request, table string) (int64, int64, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, 0, err
	}
	appID, err := s.DB.ProposalApplication(r.Context(), table, id)
	return id, appID, err
}

// approveProposal approves the conversion, exit or ending of the route
// (table names which) and goes back to its project's equity page; a
// refusal is shown there.
func (s *Server) approveProposal(w http.ResponseWriter, r *http.Request, table string,
	approve func(ctx context.Context, a audit.Actor, id int64) error, done string) error {
	id, appID, err := s.parentApp(r, table)
	if err != nil {
		return err
	}
	if err := approve(r.Context(), actor(r), id); err != nil {
		return s.equityRefuse(w, r, appID, err)
	}
	return s.toEquity(w, r, appID, done)
}

// handleConversionApprove (POST /conversions/{id}/approve).
func (s *Server) handleConversionApprove(w http.ResponseWriter, r *http.Request) error {
	return s.approveProposal(w, r, "conversions", s.DB.ApproveConversion, "转股已批准并记账。")
}

// handleRegistration records the 工商变更 date (POST /conversions/{id}/registration).
func (s *Server) handleRegistration(w http.ResponseWriter, r *http.Request) error {
	id, appID, err := s.parentApp(r, "conversions")
	if err != nil {
		return err
	}
	form, doc, drop, err := s.formWithEvidence(w, r)
	if err != nil {
		return s.equityRefuse(w, r, appID, err)
	}
	d, perr := time.Parse(time.DateOnly, form.Get("registration_date"))
	if perr != nil {
		drop()
		return s.equityRefuse(w, r, appID, applications.FieldError("registration_date", "请填写工商变更日期。"))
	}
	if err := s.DB.RecordRegistration(r.Context(), actor(r), id, d, doc); err != nil {
		drop()
		return s.equityRefuse(w, r, appID, err)
	}
	return s.toEquity(w, r, appID, "已登记工商变更。")
}

// handleCertificate is the printable conversion certificate
// (GET /conversions/{id}/certificate).
func (s *Server) handleCertificate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.DB.FindConversion(r.Context(), id)
	if err != nil {
		return err
	}
	a, err := s.DB.FindApplication(r.Context(), c.ApplicationID)
	if err != nil {
		return err
	}
	if err := s.checkApplicationAccess(r, a); err != nil {
		return err
	}
	p, err := s.DB.FindProgramme(r.Context(), a.ProgrammeID)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.Certificate(page.CertificateView{App: a, Conversion: c, Platform: p.HoldingPlatform}))
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
	d, perr := time.Parse(time.DateOnly, r.PostFormValue("date"))
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
	return s.toEquity(w, r, a.ID, "退出已测算并提交审批。")
}

// handleExitApprove (POST /exits/{id}/approve).
func (s *Server) handleExitApprove(w http.ResponseWriter, r *http.Request) error {
	return s.approveProposal(w, r, "exits", s.DB.ApproveExit, "退出已批准并记账。")
}

// handleEndingPrepare (POST /applications/{id}/endings).
func (s *Server) handleEndingPrepare(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	form, evidence, drop, err := s.formWithEvidence(w, r)
	if err != nil {
		return s.equityRefuse(w, r, a.ID, err)
	}
	in := postgres.EndingInput{Kind: form.Get("kind"), Reason: strings.TrimSpace(form.Get("reason")), Terms: []byte(form.Get("terms"))}
	if d, err := time.Parse(time.DateOnly, form.Get("value_date")); err == nil {
		in.ValueDate = d
	}
	if in.Amount, err = optionalMoney("amount", form.Get("amount")); err == nil {
		_, err = s.DB.PrepareEnding(r.Context(), actor(r), a.ID, in, form.Get("idempotency_key"), evidence)
	}
	if err != nil {
		drop()
		return s.equityRefuse(w, r, a.ID, err)
	}
	return s.toEquity(w, r, a.ID, "已提交审批人审批。")
}

// handleEndingApprove (POST /endings/{id}/approve).
func (s *Server) handleEndingApprove(w http.ResponseWriter, r *http.Request) error {
	return s.approveProposal(w, r, "endings", s.DB.ApproveEnding, "已批准。")
}

// handleWatchlist lists projects that need attention (GET /watchlist);
// ?format=csv|xlsx exports it.
func (s *Server) handleWatchlist(w http.ResponseWriter, r *http.Request) error {
	if err := s.sweepDue(r, &s.lapses, s.DB.EvaluateLapses); err != nil {
		return err
	}
	items, err := s.DB.Watchlist(r.Context())
	if err != nil {
		return err
	}
	sortKey := r.URL.Query().Get("sort")
	sort.SliceStable(items, func(i, j int) bool {
		switch sortKey {
		case "issue":
			return items[i].Issue < items[j].Issue
		case "project":
			return items[i].Title < items[j].Title
		}
		return items[i].Date.Before(items[j].Date)
	})
	if r.URL.Query().Get("format") != "" {
		table := ledger.Table{Name: "关注清单", Columns: []ledger.Column{{Title: "项目", Type: ledger.ColText},
			{Title: "企业", Type: ledger.ColText}, {Title: "事项", Type: ledger.ColText}, {Title: "日期", Type: ledger.ColDate}}}
		return s.export(w, r, "watchlist", "关注清单", table, func(rw ledger.RowWriter, n *int64) (ledger.ChainHead, error) {
			for _, it := range items {
				if err := rw.WriteRow(ledger.Text(it.Title), ledger.Text(it.Enterprise), ledger.Text(it.Issue), ledger.Date(it.Date)); err != nil {
					return ledger.ChainHead{}, err
				}
				*n++
			}
			return s.DB.LedgerHead(r.Context())
		})
	}
	v := page.WatchlistView{Sort: sortKey}
	for _, it := range items {
		v.Rows = append(v.Rows, page.WatchRow{AppID: it.ApplicationID, Title: it.Title, Enterprise: it.Enterprise,
			Issue: it.Issue, Date: format.Date(it.Date), Link: it.Link})
	}
	return s.render(w, r, http.StatusOK, page.Watchlist(v))
}

// handleEquityRegister lists the platform's positions (GET /equity);
// ?format=csv|xlsx exports it.
func (s *Server) handleEquityRegister(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.DB.ListEquity(r.Context(), 0)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("format") != "" {
		table := ledger.Table{Name: "股权台账", Columns: []ledger.Column{{Title: "批次", Type: ledger.ColText},
			{Title: "项目", Type: ledger.ColText}, {Title: "企业", Type: ledger.ColText}, {Title: "转股日", Type: ledger.ColDate},
			{Title: "转股单位", Type: ledger.ColText}, {Title: "持有单位", Type: ledger.ColText}, {Title: "持股比例", Type: ledger.ColText},
			{Title: "成本", Type: ledger.ColMoney}, {Title: "已回收", Type: ledger.ColMoney}, {Title: "状态", Type: ledger.ColText}}}
		return s.export(w, r, "equity_register", "股权台账", table, func(rw ledger.RowWriter, n *int64) (ledger.ChainHead, error) {
			for _, q := range ps {
				if err := rw.WriteRow(ledger.Text(q.Programme), ledger.Text(q.Title), ledger.Text(q.Enterprise), ledger.Date(q.ConversionDate),
					ledger.Text(q.Units.String()), ledger.Text(q.Held.String()), ledger.Text(q.Stake), ledger.Money(q.CostBasis),
					ledger.Money(q.Proceeds), ledger.Text(q.State.Label())); err != nil {
					return ledger.ChainHead{}, err
				}
				*n++
			}
			return s.DB.LedgerHead(r.Context())
		})
	}
	return s.render(w, r, http.StatusOK, page.EquityRegister(page.EquityRegisterView{Positions: ps}))
}

// handleProposalReject sends a pending conversion, exit, ending or terms
// change back to staff with a reason (POST /proposals/{kind}/{id}/reject).
func (s *Server) handleProposalReject(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	kind := chiParam(r, "kind")
	appID, err := s.DB.RejectProposal(r.Context(), actor(r), kind, id, strings.TrimSpace(r.PostFormValue("reason")))
	if err != nil {
		if appID == 0 || applications.ErrorKind(err) == applications.NotFound {
			return err
		}
		return s.equityRefuse(w, r, appID, err)
	}
	if kind == "terms" {
		s.flash(w, r, "success", "已退回条款变更。")
		http.Redirect(w, r, "/applications/"+strconv.FormatInt(appID, 10)+"/agreement", http.StatusSeeOther)
		return nil
	}
	return s.toEquity(w, r, appID, "已退回经办人员。")
}

package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/ledger"
	"ite/web/format"
	"ite/web/page"
	"ite/web/ui"
)

// equityRoutes: a project's equity page, the equity register and sending a
// proposal back.
func (s *Server) equityRoutes() []route {
	return []route{
		{"GET", "/applications/{id}/equity", can(applications.ActionReadApplications), s.handleEquity},
		{"GET", "/equity", can(applications.ActionReadEquityRegister).inMenu(navEquity, "股权台账"), s.handleEquityRegister},
		{"POST", "/proposals/{kind}/{id}/reject", can(applications.ActionApproveEquityProposal), s.handleProposalReject},
	}
}

// handleEquity is a project's post-investment page (GET /applications/{id}/equity).
func (s *Server) handleEquity(w http.ResponseWriter, r *http.Request) error {
	if err := s.sweepDue(r, &s.lapses); err != nil {
		return err
	}
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	return s.renderEquity(w, r, http.StatusOK, a, nil, "")
}

func (s *Server) renderEquity(w http.ResponseWriter, r *http.Request, status int, a applications.Application, errs ui.Errors, msg string) error {
	return s.renderEquityForm(w, r, status, a, errs, msg, nil)
}

// renderEquityForm renders the equity page with a refused exit form's values
// (nil: an empty form).
func (s *Server) renderEquityForm(w http.ResponseWriter, r *http.Request, status int, a applications.Application, errs ui.Errors, msg string, exitForm url.Values) error {
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
		Errors: errs, FormError: msg, IdemKey: newFormKey(r.Context()), Unit: g.Terms.Unit, ExitForm: exitForm,
		CanReport: u.Role.Can(applications.ActionReportEvent) && a.State == applications.StateFunded,
		CanVerify: u.Role.Can(applications.ActionVerifyEvent), CanApprove: u.Role.Can(applications.ActionApproveEquityProposal),
		CanRegister: u.Role.Can(applications.ActionRecordRegistration), CanRecordReceipt: u.Role.Can(applications.ActionRecordExitReceipt)}
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
		pendingConv = pendingConv || c.Status == applications.ConversionPending
	}
	// Not a permission: the bureau sees the conversion preview, the
	// enterprise the approved figures only.
	if a.State == applications.StateConversionDue && !pendingConv && u.Role != enterprise {
		v.Appraised = r.URL.Query().Get("appraised")
		p, err := s.DB.PreviewConversion(ctx, a.ID, typedAmount(v.Appraised))
		if err != nil {
			return err
		}
		v.Preview, v.CanPrepareConv = &p, u.Role.Can(applications.ActionPrepareConversion)
	}
	if v.Exits, err = s.DB.ListExits(ctx, a.ID); err != nil {
		return err
	}
	v.ExitNotes = map[int64]page.ExitNote{}
	for _, x := range v.Exits {
		rec, err := exitRecord(a, x)
		if err != nil {
			return err
		}
		v.ExitNotes[x.ID] = page.ExitNote{Rate: rec.Tranche.Rate, Basis: applications.RateBasisLabel(rec.Tranche.RateBasis),
			Source: rec.RateSource, Explain: rec.Explain}
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
			pendingExit = pendingExit || x.Status == applications.ExitPending
		}
		v.CanPrepareExit = u.Role.Can(applications.ActionPrepareExit) && a.State != applications.StateExited && !pendingExit
	}
	if v.Endings, err = s.DB.ListEndings(ctx, a.ID); err != nil {
		return err
	}
	pendingEnding := false
	for _, n := range v.Endings {
		pendingEnding = pendingEnding || n.Status == applications.EndingPending
	}
	if v.Acceptance, err = s.acceptanceView(ctx, u.Role, a); err != nil {
		return err
	}
	if u.Role.Can(applications.ActionPrepareEnding) && !pendingEnding {
		v.EndingKinds = endingOptions(a.State, v.Acceptance.Latest())
	}
	if v.Oversight, err = s.equityOversight(ctx, u, a); err != nil {
		return err
	}
	return s.render(w, r, status, page.Equity(v))
}

func (s *Server) equityRefuse(w http.ResponseWriter, r *http.Request, appID int64, err error) error {
	return s.equityRefuseForm(w, r, appID, err, nil)
}

// equityRefuseForm shows a refusal on the equity page with the exit form
// as typed (nil: an empty form).
func (s *Server) equityRefuseForm(w http.ResponseWriter, r *http.Request, appID int64, err error, exitForm url.Values) error {
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
	return s.renderEquityForm(w, r, statusOf[k], a, errs, applications.ErrorMessage(err), exitForm)
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

// parentApplication is parentApp with the application itself, once the
// signed-in user is shown to have access to it (checkApplicationAccess).
func (s *Server) parentApplication(r *http.Request, table string) (int64, applications.Application, error) {
	id, appID, err := s.parentApp(r, table)
	if err != nil {
		return 0, applications.Application{}, err
	}
	a, err := s.DB.FindApplication(r.Context(), appID)
	if err != nil {
		return 0, a, err
	}
	return id, a, s.checkApplicationAccess(r, a)
}

// approveProposal approves the conversion, exit or ending of the route
// (table names which) and goes back to its project's equity page; a
// refusal is shown there.
func (s *Server) approveProposal(w http.ResponseWriter, r *http.Request, table string,
	approve func(ctx context.Context, a audit.Actor, id int64) error, done func(appID, id int64) (string, error)) error {
	id, appID, err := s.parentApp(r, table)
	if err != nil {
		return err
	}
	// Each of these books money that cannot be taken back: the approver
	// must have seen the amount in 大写 (page.Confirmation) and ticked it.
	if err := confirmed(r); err != nil {
		return s.equityRefuse(w, r, appID, err)
	}
	if err := approve(r.Context(), actor(r), id); err != nil {
		return s.equityRefuse(w, r, appID, err)
	}
	msg, err := done(appID, id)
	if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, applicationPath(appID, "/equity"), msg)
}

// said is a done message that does not depend on the record.
func said(msg string) func(appID, id int64) (string, error) {
	return func(int64, int64) (string, error) { return msg, nil }
}

// EquityTable is the equity register export (股权台账): units and stakes
// are number cells in their formats, so a spreadsheet sums and compares
// them.
var EquityTable = ledger.Table{Name: "股权台账", Columns: []ledger.Column{
	{Title: "批次", Type: ledger.ColText, Width: 24}, {Title: "项目", Type: ledger.ColText, Width: 30},
	{Title: "企业", Type: ledger.ColText, Width: 30}, {Title: "转股日", Type: ledger.ColDate},
	{Title: "转股单位", Type: ledger.ColNumber, NumFmt: ledger.NumFmtUnits, Width: 16},
	{Title: "持有单位", Type: ledger.ColNumber, NumFmt: ledger.NumFmtUnits, Width: 16},
	{Title: "持股比例", Type: ledger.ColNumber, NumFmt: ledger.NumFmtStake},
	{Title: "成本", Type: ledger.ColMoney}, {Title: "已回收", Type: ledger.ColMoney}, {Title: "状态", Type: ledger.ColText}}}

// fraction is a stored decimal string (a stake, a MOIC, an XIRR) as a
// number cell; empty when there is none (an XIRR that is undefined).
func fraction(s string) ledger.Value {
	d, err := decimal.NewFromString(strings.TrimSpace(s))
	if err != nil {
		return ledger.Value{}
	}
	return ledger.Number(d)
}

// handleEquityRegister lists the platform's positions (GET /equity);
// ?format=csv|xlsx exports it.
func (s *Server) handleEquityRegister(w http.ResponseWriter, r *http.Request) error {
	// The trustee sees its platform's positions only (Platform is "" for
	// every other role, who see all).
	ps, err := s.DB.ListEquity(r.Context(), 0, currentUser(r).Platform)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("format") != "" {
		return s.export(w, r, "equity_register", "股权台账", EquityTable, func(rw ledger.RowWriter, n *int64) (ledger.ChainHead, error) {
			for _, q := range ps {
				if err := rw.WriteRow(ledger.Text(q.Programme), ledger.Text(q.Title), ledger.Text(q.Enterprise), ledger.Date(q.ConversionDate),
					ledger.Number(q.Units), ledger.Number(q.Held), fraction(q.Stake), ledger.Money(q.CostBasis),
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
		if e, ok := refused(err); ok && kind == "terms" {
			// A terms change is sent back from the agreement page: that
			// page again, with the message.
			a, ferr := s.DB.FindApplication(r.Context(), appID)
			if ferr != nil {
				return err
			}
			errs := ui.Errors{}
			addFieldError(errs, err)
			return s.renderAgreement(w, r, statusOf[e.Kind], a, errs, e.Message)
		}
		return s.equityRefuse(w, r, appID, err)
	}
	if kind == "terms" {
		return s.redirectWithFlash(w, r, applicationPath(appID, "/agreement"), "已退回条款变更。")
	}
	return s.redirectWithFlash(w, r, applicationPath(appID, "/equity"), "已退回经办人员。")
}

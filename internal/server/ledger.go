package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/ledger"
	"ite/internal/postgres"
	"ite/web/format"
	"ite/web/page"
	"ite/web/ui"
)

// ledgerRoutes: the journal, trial balance, account ledgers, project
// register, their exports and verification.
func (s *Server) ledgerRoutes() []route {
	return []route{
		{"GET", "/ledger", can(applications.ActionReadLedger).inMenu(navLedger, "台账"), s.handleLedgerHome},
		{"GET", "/ledger/journal", can(applications.ActionReadLedger), s.handleJournal},
		{"GET", "/ledger/journal/export", can(applications.ActionReadLedger), s.handleJournalExport},
		{"GET", "/ledger/entries/{id}", can(applications.ActionReadLedgerEntry), s.handleLedgerEntry},
		{"GET", "/ledger/trial-balance", can(applications.ActionReadLedger), s.handleTrialBalance},
		{"GET", "/ledger/trial-balance/export", can(applications.ActionReadLedger), s.handleTrialBalanceExport},
		{"GET", "/ledger/accounts", can(applications.ActionReadLedger), s.handleAccountLedger},
		{"GET", "/ledger/accounts/export", can(applications.ActionReadLedger), s.handleAccountLedgerExport},
		{"GET", "/ledger/register", can(applications.ActionReadLedger), s.handleProjectRegister},
		{"GET", "/ledger/register/export", can(applications.ActionReadLedger), s.handleProjectRegisterExport},
		{"GET", "/ledger/audit/export", can(applications.ActionReadAuditLog), s.handleAuditExport},
		{"GET", "/ledger/verify", can(applications.ActionVerifyIntegrity).inMenu(navLedgerVerify, "台账校验").menuFor(auditor), s.handleLedgerVerify},
	}
}

// ledgerFilterOf reads the filters every ledger view shares.
func ledgerFilterOf(q url.Values) page.LedgerFilter {
	return page.LedgerFilter{From: q.Get("from"), To: q.Get("to"), AsOf: q.Get("as_of"), Programme: q.Get("programme"),
		Project: q.Get("project"), Account: q.Get("account"), Event: q.Get("event")}
}

// query is the filter as a query string, for the export and paging links.
func filterQuery(f page.LedgerFilter) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"from": f.From, "to": f.To, "as_of": f.AsOf, "programme": f.Programme,
		"project": f.Project, "account": f.Account, "event": f.Event} {
		if strings.TrimSpace(v) != "" {
			q.Set(k, strings.TrimSpace(v))
		}
	}
	return q
}

func journalFilter(f page.LedgerFilter) (postgres.JournalFilter, error) {
	var jf postgres.JournalFilter
	var err error
	if jf.From, err = parseDay("from", f.From); err != nil {
		return jf, err
	}
	if jf.To, err = parseDay("to", f.To); err != nil {
		return jf, err
	}
	if jf.ProgrammeID, err = parseOptionalID("programme", "申报批次", f.Programme); err != nil {
		return jf, err
	}
	if jf.ApplicationID, err = parseOptionalID("project", "项目编号", f.Project); err != nil {
		return jf, err
	}
	jf.Account = strings.TrimSpace(f.Account)
	if _, _, _, err := postgres.ParseAccountFilter(jf.Account); err != nil {
		return jf, err
	}
	return jf, nil
}

func (s *Server) programmeFilterOptions(r *http.Request) ([]ui.Option, error) {
	ps, err := s.listProgrammes(r, false)
	if err != nil {
		return nil, err
	}
	opts := []ui.Option{{Value: "", Label: "全部"}}
	for _, p := range ps {
		opts = append(opts, ui.Option{Value: strconv.FormatInt(p.ID, 10), Label: p.Name})
	}
	return opts, nil
}

// handleLedgerHome is the workspace: chain head, funds, views
// (GET /ledger).
func (s *Server) handleLedgerHome(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	head, err := s.DB.LedgerHead(ctx)
	if err != nil {
		return err
	}
	funds, err := s.DB.ListFunds(ctx)
	if err != nil {
		return err
	}
	pd, err := s.DB.ListDisbursements(ctx, postgres.DisbursementFilter{Status: applications.MoneyPending, Limit: 200})
	if err != nil {
		return err
	}
	pa, err := s.DB.ListAppropriations(ctx, postgres.AppropriationFilter{Status: applications.MoneyPending, Limit: 200})
	if err != nil {
		return err
	}
	pr, err := s.DB.ListReversals(ctx, postgres.ReversalFilter{Status: applications.MoneyPending, Limit: 200})
	if err != nil {
		return err
	}
	u := currentUser(r)
	return s.render(w, r, http.StatusOK, page.LedgerHome(page.LedgerHomeView{Head: head, Funds: funds,
		PendingDisbursements: len(pd), PendingAppropriations: len(pa), PendingReversals: len(pr), CanVerify: u.Role.Can(applications.ActionVerifyIntegrity)}))
}

// handleJournal is the journal by period, programme, project and account,
// in sequence order with keyset paging (GET /ledger/journal).
func (s *Server) handleJournal(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	v := page.LedgerJournalView{Filter: ledgerFilterOf(q)}
	v.Query = filterQuery(v.Filter)
	var err error
	if v.Programmes, err = s.programmeFilterOptions(r); err != nil {
		return err
	}
	f, err := journalFilter(v.Filter)
	status := http.StatusOK
	if err != nil {
		if applications.ErrorKind(err) != applications.Invalid {
			return err
		}
		v.Error, status = applications.ErrorMessage(err), http.StatusUnprocessableEntity
		return s.render(w, r, status, page.LedgerJournal(v))
	}
	f.AfterSeq, _ = strconv.ParseInt(q.Get("after"), 10, 64)
	if v.Page, err = s.DB.Journal(r.Context(), f); err != nil {
		return err
	}
	var keys []ledger.AccountKey
	for _, e := range v.Page.Entries {
		keys = postingKeys(keys, e.Entry.Postings)
	}
	if v.Names, err = s.DB.SubAccountNames(r.Context(), keys); err != nil {
		return err
	}
	return s.render(w, r, status, page.LedgerJournal(v))
}

// handleLedgerEntry shows one entry with the record and approvals behind
// it, and the correction panel (GET /ledger/entries/{id}).
func (s *Server) handleLedgerEntry(w http.ResponseWriter, r *http.Request) error {
	seq, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.renderLedgerEntry(w, r, http.StatusOK, seq, page.ReversalPanel{})
}

// renderLedgerEntry renders entry seq's page; panel carries a refused
// reversal request back to its form.
func (s *Server) renderLedgerEntry(w http.ResponseWriter, r *http.Request, status int, seq int64, panel page.ReversalPanel) error {
	d, err := s.DB.FindEntry(r.Context(), seq)
	if err != nil {
		return err
	}
	trail, err := s.trail(r, d.Entry.Record.Type, d.Entry.Record.ID)
	if err != nil {
		return err
	}
	if panel, err = s.reversalPanel(r, d.Entry, panel); err != nil {
		return err
	}
	names, err := s.DB.SubAccountNames(r.Context(), postingKeys(nil, d.Entry.Postings))
	if err != nil {
		return err
	}
	return s.render(w, r, status, page.LedgerEntry(page.LedgerEntryView{Detail: d, Trail: trail, Reversal: panel, Names: names}))
}

// trail is the audit trail of a business record, for its pages.
func (s *Server) trail(r *http.Request, objectType string, id int64) ([]page.AuditLine, error) {
	recs, err := s.DB.RecordAuditTrail(r.Context(), objectType, id)
	if err != nil {
		return nil, err
	}
	out := make([]page.AuditLine, len(recs))
	for i, rec := range recs {
		out[i] = page.AuditLine{Seq: rec.Seq, At: format.DateTime(rec.At), Actor: rec.ActorName,
			Role: rec.ActorRole, Event: rec.Event, Outcome: rec.Outcome}
	}
	return out, nil
}

func trialFilter(f page.LedgerFilter) (postgres.TrialFilter, error) {
	var tf postgres.TrialFilter
	var err error
	if tf.AsOf, err = parseDay("as_of", f.AsOf); err != nil {
		return tf, err
	}
	tf.ProgrammeID, err = parseOptionalID("programme", "申报批次", f.Programme)
	return tf, err
}

// handleTrialBalance is the trial balance at any date: only entries with a
// value date on or before it (GET /ledger/trial-balance).
func (s *Server) handleTrialBalance(w http.ResponseWriter, r *http.Request) error {
	v := page.LedgerTrialView{Filter: ledgerFilterOf(r.URL.Query()), Balanced: true}
	v.Query = filterQuery(v.Filter)
	var err error
	if v.Programmes, err = s.programmeFilterOptions(r); err != nil {
		return err
	}
	f, err := trialFilter(v.Filter)
	if err != nil {
		if applications.ErrorKind(err) != applications.Invalid {
			return err
		}
		v.Error = applications.ErrorMessage(err)
		return s.render(w, r, http.StatusUnprocessableEntity, page.LedgerTrial(v))
	}
	tb, head, err := s.DB.TrialBalance(r.Context(), f)
	if err != nil {
		return err
	}
	keys := []ledger.AccountKey{}
	for _, b := range tb.Lines() {
		keys = append(keys, b.Account)
	}
	if v.Names, err = s.DB.SubAccountNames(r.Context(), keys); err != nil {
		return err
	}
	v.Head, v.Lines = head, tb.Lines()
	v.Debit, v.Credit = tb.Totals()
	for _, b := range v.Lines {
		v.DebitBal, v.CreditBal = v.DebitBal.Add(b.DebitBalance()), v.CreditBal.Add(b.CreditBalance())
	}
	v.Balanced = tb.Check() == nil && v.DebitBal.Equal(v.CreditBal)
	return s.render(w, r, http.StatusOK, page.LedgerTrial(v))
}

func accountFilter(f page.LedgerFilter) (postgres.AccountFilter, error) {
	var af postgres.AccountFilter
	code, scope, id, err := postgres.ParseAccountFilter(f.Account)
	if err != nil {
		return af, err
	}
	if code == "" {
		return af, applications.FieldError("account", "请选择科目（如 1002，或明细科目 1002/prog/1）。")
	}
	af.Code, af.Scope, af.ScopeID = code, scope, id
	if af.From, err = parseDay("from", f.From); err != nil {
		return af, err
	}
	af.To, err = parseDay("to", f.To)
	return af, err
}

// parseAccountCursor reads "YYYY-MM-DD.seq.line".
func parseAccountCursor(v string) postgres.AccountCursor {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return postgres.AccountCursor{}
	}
	d, err1 := time.Parse(time.DateOnly, parts[0])
	seq, err2 := strconv.ParseInt(parts[1], 10, 64)
	line, err3 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || seq <= 0 || line <= 0 || line > 32767 {
		return postgres.AccountCursor{}
	}
	return postgres.AccountCursor{ValueDate: d, Seq: seq, Line: line}
}

func accountOptions() []ui.Option {
	var opts []ui.Option
	for _, a := range ledger.Chart() {
		opts = append(opts, ui.Option{Value: string(a.Code), Label: string(a.Code) + " " + a.Name})
	}
	return opts
}

// handleAccountLedger is an account ledger with running balances
// (GET /ledger/accounts?account=1002/prog/1).
func (s *Server) handleAccountLedger(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	v := page.LedgerAccountView{Filter: ledgerFilterOf(q), Accounts: accountOptions()}
	v.Query = filterQuery(v.Filter)
	if strings.TrimSpace(v.Filter.Account) == "" {
		return s.render(w, r, http.StatusOK, page.LedgerAccount(v))
	}
	v.Chosen = true
	f, err := accountFilter(v.Filter)
	if err == nil {
		f.After = parseAccountCursor(q.Get("after"))
		v.Page, err = s.DB.AccountLedger(r.Context(), f)
	}
	if err != nil {
		if applications.ErrorKind(err) != applications.Invalid {
			return err
		}
		v.Error = applications.ErrorMessage(err)
		return s.render(w, r, http.StatusUnprocessableEntity, page.LedgerAccount(v))
	}
	// nil: every sub-account, for the account chooser
	if v.Names, err = s.DB.SubAccountNames(r.Context(), nil); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.LedgerAccount(v))
}

func registerFilter(f page.LedgerFilter) (postgres.RegisterFilter, error) {
	var rf postgres.RegisterFilter
	var err error
	if rf.AsOf, err = parseDay("as_of", f.AsOf); err != nil {
		return rf, err
	}
	rf.ProgrammeID, err = parseOptionalID("programme", "申报批次", f.Programme)
	return rf, err
}

// handleProjectRegister is the project register: per project approved,
// disbursed, converted, exited, written off and state (GET /ledger/register).
func (s *Server) handleProjectRegister(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	v := page.LedgerRegisterView{Filter: ledgerFilterOf(q)}
	v.Query = filterQuery(v.Filter)
	var err error
	if v.Programmes, err = s.programmeFilterOptions(r); err != nil {
		return err
	}
	f, err := registerFilter(v.Filter)
	if err != nil {
		if applications.ErrorKind(err) != applications.Invalid {
			return err
		}
		v.Error = applications.ErrorMessage(err)
		return s.render(w, r, http.StatusUnprocessableEntity, page.LedgerRegister(v))
	}
	f.AfterID, _ = strconv.ParseInt(q.Get("after"), 10, 64)
	if v.Page, err = s.DB.Register(r.Context(), f); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.LedgerRegister(v))
}

// handleLedgerVerify checks the whole ledger: balance, chain and the
// balances kept beside it (GET /ledger/verify).
func (s *Server) handleLedgerVerify(w http.ResponseWriter, r *http.Request) error {
	res, err := s.DB.VerifyLedger(r.Context())
	if err != nil {
		return err
	}
	outcome := audit.Success
	if !res.OK {
		outcome = audit.Failure
	}
	s.audit(r, audit.Event{Name: "ledger_verify", Outcome: outcome, Detail: map[string]any{"entries": res.Entries,
		"postings": res.Postings, "ok": res.OK, "first_bad": res.FirstBad, "head": res.Head.String()}})
	anchor, err := s.anchorPanel(r, "ledger")
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.LedgerVerify(page.LedgerVerifyView{Result: res, Anchor: anchor,
		CanReadLedger: currentUser(r).Role.Can(applications.ActionReadLedger)}))
}

// postingKeys adds the accounts the postings touch to keys, for the names
// a page shows (SubAccountNames).
func postingKeys(keys []ledger.AccountKey, ps []ledger.Posting) []ledger.AccountKey {
	if keys == nil {
		keys = []ledger.AccountKey{}
	}
	for _, p := range ps {
		keys = append(keys, p.Account)
	}
	return keys
}

package server

import (
	"net/http"
	"strconv"
	"time"

	"ite/internal/applications"
	"ite/internal/day"
	"ite/internal/ledger"
	"ite/internal/postgres"
	"ite/web/page"
)

// printoutRoutes: the printable documents of a project (issue 15 point 2):
// the decision to fund, its public notice, each disbursement notice, each
// exit confirmation and the write-off decision, and the auditor's printed
// journal and trial balance (issue 15 point 3), all in the one print
// style (web/static/print.css). The agreement and the conversion
// certificate have their own pages (agreements.go, conversions.go).
func (s *Server) printoutRoutes() []route {
	read := can(applications.ActionReadApplications)
	return []route{
		{"GET", "/applications/{id}/print/decision", read, s.handlePrintout("decision")},
		{"GET", "/applications/{id}/print/notice", read, s.handlePrintout("notice")},
		{"GET", "/applications/{id}/print/disbursement", read, s.handlePrintout("disbursement")},
		{"GET", "/applications/{id}/print/exit", read, s.handlePrintout("exit")},
		{"GET", "/applications/{id}/print/write-off", read, s.handlePrintout("write-off")},
		{"GET", "/ledger/journal/print", can(applications.ActionReadLedger), s.handleJournalPrint},
		{"GET", "/ledger/trial-balance/print", can(applications.ActionReadLedger), s.handleTrialBalancePrint},
	}
}

// handleJournalPrint is the printable journal of a period, with the
// filters of the journal page (GET /ledger/journal/print?from=&to=&
// programme=&project=&account=): every entry selected, its totals, the
// period, who printed it and when, and the chain head. Invalid for a bad
// filter or a period too long for one printout.
func (s *Server) handleJournalPrint(w http.ResponseWriter, r *http.Request) error {
	lf := ledgerFilterOf(r.URL.Query())
	f, err := journalFilter(lf)
	if err != nil {
		return err
	}
	pg, err := s.DB.PrintJournal(r.Context(), f)
	if err != nil {
		return err
	}
	v, err := s.ledgerPrint(r, "journal", lf, pg.Head)
	if err != nil {
		return err
	}
	v.Period = periodText(f.From, f.To)
	if f.ApplicationID > 0 {
		v.Scope += "；项目编号 " + strconv.FormatInt(f.ApplicationID, 10)
	}
	if f.Account != "" {
		v.Scope += "；科目 " + f.Account
	}
	v.Entries = pg.Entries
	for _, je := range pg.Entries {
		for _, p := range je.Entry.Postings {
			if p.Side == ledger.Debit {
				v.DebitSum = v.DebitSum.Add(p.Amount)
			} else {
				v.CreditSum = v.CreditSum.Add(p.Amount)
			}
		}
	}
	return s.render(w, r, http.StatusOK, page.LedgerPrint(v))
}

// handleTrialBalancePrint is the printable trial balance at a date
// (GET /ledger/trial-balance/print?as_of=&programme=), with its totals,
// who printed it and when, and the chain head. Invalid for a bad filter.
func (s *Server) handleTrialBalancePrint(w http.ResponseWriter, r *http.Request) error {
	lf := ledgerFilterOf(r.URL.Query())
	f, err := trialFilter(lf)
	if err != nil {
		return err
	}
	tb, head, err := s.DB.TrialBalance(r.Context(), f)
	if err != nil {
		return err
	}
	v, err := s.ledgerPrint(r, "trial", lf, head)
	if err != nil {
		return err
	}
	v.Period = "全部凭证（截至打印时）"
	if !f.AsOf.IsZero() {
		v.Period = "截至" + day.Chinese(f.AsOf) + "（记账日期）"
	}
	v.Lines = tb.Lines()
	v.Debit, v.Credit = tb.Totals()
	for _, b := range v.Lines {
		v.DebitBal, v.CreditBal = v.DebitBal.Add(b.DebitBalance()), v.CreditBal.Add(b.CreditBalance())
	}
	v.Balanced = tb.Check() == nil && v.DebitBal.Equal(v.CreditBal)
	return s.render(w, r, http.StatusOK, page.LedgerPrint(v))
}

// ledgerPrint fills what every ledger printout carries: the programme
// scope, the preparer (the signed-in user), the print time and the head.
func (s *Server) ledgerPrint(r *http.Request, kind string, lf page.LedgerFilter, head ledger.ChainHead) (page.LedgerPrintView, error) {
	v := page.LedgerPrintView{Kind: kind, Head: head, PrintedAt: s.Now(), Scope: "全部申报批次"}
	if u := currentUser(r); u != nil {
		v.Preparer = u.DisplayName
	}
	if id, err := parseOptionalID("programme", "申报批次", lf.Programme); err != nil {
		return v, err
	} else if id > 0 {
		p, err := s.DB.FindProgramme(r.Context(), id)
		if err != nil {
			return v, err
		}
		v.Scope = p.Name
	}
	return v, nil
}

// periodText is a journal's period as printed: 2026年3月1日至2026年3月31日.
func periodText(from, to time.Time) string {
	switch {
	case from.IsZero() && to.IsZero():
		return "全部期间"
	case to.IsZero():
		return day.Chinese(from) + "起"
	case from.IsZero():
		return "截至" + day.Chinese(to)
	}
	return day.Chinese(from) + "至" + day.Chinese(to)
}

// handlePrintout renders one printable document of the application
// (GET /applications/{id}/print/{decision,notice,disbursement,exit,write-off};
// disbursement and exit take ?n=ID, by default the latest approved one).
// NotFound when the project has no such approved record.
func (s *Server) handlePrintout(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		a, err := s.loadApplication(r)
		if err != nil {
			return err
		}
		v, err := s.printout(r, kind, a)
		if err != nil {
			return err
		}
		return s.render(w, r, http.StatusOK, page.Printout(v))
	}
}

func (s *Server) printout(r *http.Request, kind string, a applications.Application) (page.PrintoutView, error) {
	ctx := r.Context()
	none := func(what string) (page.PrintoutView, error) {
		return page.PrintoutView{}, applications.Errorf(applications.NotFound, "该项目尚无已批准的%s。", what)
	}
	p, err := s.DB.FindProgramme(ctx, a.ProgrammeID)
	if err != nil {
		return page.PrintoutView{}, err
	}
	tpl, err := s.DB.CurrentAgreementTemplate(ctx, a.ProgrammeID)
	if err != nil {
		return page.PrintoutView{}, err
	}
	v := page.PrintoutView{Kind: kind, App: a, Programme: p, Bureau: tpl.Bureau}
	n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
	if kind != "decision" && kind != "notice" {
		g, err := s.DB.SignedAgreement(ctx, a.ID)
		if err != nil && applications.ErrorKind(err) != applications.NotFound {
			return v, err
		}
		v.Agreement = g
		if g.ID != 0 {
			if v.AgreementNumber, err = s.DB.AgreementNumber(ctx, a.ID); err != nil {
				return v, err
			}
		}
	}
	switch kind {
	case "decision", "notice":
		ds, err := s.DB.ListDecisions(ctx, a.ID)
		if err != nil {
			return v, err
		}
		for _, d := range ds {
			if d.Approve && d.Status == applications.DecisionApproved {
				v.Decision = d
				break
			}
		}
		if v.Decision.ID == 0 {
			return none("立项决定")
		}
		if v.DecidedAt, err = s.DB.DecidedAt(ctx, "decision", v.Decision.ID); err != nil {
			return v, err
		}
		if v.Terms, err = applications.ParseTerms(v.Decision.Terms); err != nil {
			return v, err
		}
	case "disbursement":
		ds, err := s.DB.ListDisbursements(ctx, postgres.DisbursementFilter{ApplicationID: a.ID, Limit: 200})
		if err != nil {
			return v, err
		}
		for _, d := range ds {
			if d.Status == applications.MoneyApproved && (n == 0 || d.ID == n) {
				v.Disbursement = d
				break
			}
		}
		if v.Disbursement.ID == 0 {
			return none("拨付")
		}
	case "exit":
		xs, err := s.DB.ListExits(ctx, a.ID)
		if err != nil {
			return v, err
		}
		for i := len(xs) - 1; i >= 0; i-- {
			if xs[i].Status == applications.ExitApproved && (n == 0 || xs[i].ID == n) {
				v.Exit = xs[i]
				break
			}
		}
		if v.Exit.ID == 0 {
			return none("退出")
		}
		if v.DecidedAt, err = s.DB.DecidedAt(ctx, "exit", v.Exit.ID); err != nil {
			return v, err
		}
	case "write-off":
		es, err := s.DB.ListEndings(ctx, a.ID)
		if err != nil {
			return v, err
		}
		for _, e := range es {
			if e.Kind == "write_off" && e.Status == applications.EndingApproved {
				v.Ending = e
				break
			}
		}
		if v.Ending.ID == 0 {
			return none("核销")
		}
		if v.DecidedAt, err = s.DB.DecidedAt(ctx, "ending", v.Ending.ID); err != nil {
			return v, err
		}
	}
	return v, nil
}

// printLinks lists the printable documents a project has so far, for the
// agreement page.
func (s *Server) printLinks(r *http.Request, a applications.Application) ([]page.PrintLink, error) {
	ctx := r.Context()
	base := "/applications/" + strconv.FormatInt(a.ID, 10) + "/print/"
	var links []page.PrintLink
	decisions, err := s.DB.ListDecisions(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	for _, d := range decisions {
		if d.Approve && d.Status == applications.DecisionApproved {
			links = append(links, page.PrintLink{Label: "立项决定", Href: base + "decision"}, page.PrintLink{Label: "立项公示", Href: base + "notice"})
			break
		}
	}
	ds, err := s.DB.ListDisbursements(ctx, postgres.DisbursementFilter{ApplicationID: a.ID, Limit: 200})
	if err != nil {
		return nil, err
	}
	for i := len(ds) - 1; i >= 0; i-- {
		if d := ds[i]; d.Status == applications.MoneyApproved {
			links = append(links, page.PrintLink{Label: "拨付通知（第 " + strconv.Itoa(d.Tranche) + " 笔，" + day.Chinese(d.ValueDate) + "）",
				Href: base + "disbursement?n=" + strconv.FormatInt(d.ID, 10)})
		}
	}
	cs, err := s.DB.ListConversions(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if c.Status == applications.ConversionApproved {
			links = append(links, page.PrintLink{Label: "转股测算单 ZG-" + strconv.FormatInt(c.ID, 10),
				Href: "/conversions/" + strconv.FormatInt(c.ID, 10) + "/certificate"})
		}
	}
	xs, err := s.DB.ListExits(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	for _, x := range xs {
		if x.Status == applications.ExitApproved {
			links = append(links, page.PrintLink{Label: "股权退出确认书（第 " + strconv.Itoa(x.TrancheNo) + " 期）",
				Href: base + "exit?n=" + strconv.FormatInt(x.ID, 10)})
		}
	}
	es, err := s.DB.ListEndings(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if e.Kind == "write_off" && e.Status == applications.EndingApproved {
			links = append(links, page.PrintLink{Label: "核销决定", Href: base + "write-off"})
			break
		}
	}
	return links, nil
}

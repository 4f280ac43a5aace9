package server

import (
	"net/http"
	"strconv"

	"ite/internal/applications"
	"ite/internal/day"
	"ite/internal/postgres"
	"ite/web/page"
)

// printoutRoutes: the printable documents of a project (issue 15 point 2):
// the decision to fund, its public notice, each disbursement notice, each
// exit confirmation and the write-off decision, all in the one print
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
	}
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

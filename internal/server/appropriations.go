package server

import (
	"net/http"
	"strconv"
	"strings"

	"ite/internal/applications"
	"ite/internal/day"
	"ite/internal/postgres"
	"ite/web/page"
	"ite/web/ui"
)

// appropriationRoutes: money from the treasury into a fund: recorded by
// staff, approved by an approver. Admins cannot move money (DOMAIN §2), so
// they neither record nor read them here.
func (s *Server) appropriationRoutes() []route {
	return []route{
		{"GET", "/ledger/appropriations", can(applications.ActionReadAppropriations), s.handleAppropriations},
		{"POST", "/ledger/appropriations", can(applications.ActionRecordAppropriation), s.handleAppropriationRecord},
		{"GET", "/ledger/appropriations/{id}", can(applications.ActionReadAppropriations), s.handleAppropriationShow},
		{"POST", "/ledger/appropriations/{id}/approve", can(applications.ActionApproveAppropriation), s.handleAppropriationApprove},
		{"POST", "/ledger/appropriations/{id}/reject", can(applications.ActionApproveAppropriation), s.handleAppropriationReject},
	}
}

// moneyStatus reads a status filter; anything else is "all".
func moneyStatus(v string) applications.MoneyStatus {
	switch s := applications.MoneyStatus(v); s {
	case applications.MoneyPending, applications.MoneyApproved, applications.MoneyRejected, applications.MoneyReversed:
		return s
	}
	return ""
}

func (s *Server) appropriationsView(r *http.Request, form page.MoneyForm) (page.LedgerAppropriationsView, error) {
	q := r.URL.Query()
	v := page.LedgerAppropriationsView{Status: moneyStatus(q.Get("status")), Form: form}
	u := currentUser(r)
	v.CanRecord = u.Role.Can(applications.ActionRecordAppropriation)
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	const size = 50
	items, err := s.DB.ListAppropriations(r.Context(), postgres.AppropriationFilter{Status: v.Status, BeforeID: max(before, 0), Limit: size})
	if err != nil {
		return v, err
	}
	v.Items = items
	if len(items) == size {
		v.NextID = items[len(items)-1].ID
	}
	if v.CanRecord {
		ps, err := s.DB.ListProgrammes(r.Context(), false)
		if err != nil {
			return v, err
		}
		v.Programmes = []ui.Option{{Value: "", Label: "请选择"}}
		for _, p := range ps {
			v.Programmes = append(v.Programmes, ui.Option{Value: strconv.FormatInt(p.ID, 10), Label: p.Name})
		}
		if v.Form.Key == "" {
			v.Form.Key = newFormKey(r.Context())
		}
		if v.Form.ValueDate == "" {
			v.Form.ValueDate = day.ISO(day.Today(s.Now()))
		}
	}
	return v, nil
}

// handleAppropriations lists appropriations, with the form to record one
// for staff and admins (GET /ledger/appropriations).
func (s *Server) handleAppropriations(w http.ResponseWriter, r *http.Request) error {
	v, err := s.appropriationsView(r, page.MoneyForm{})
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.LedgerAppropriations(v))
}

// handleAppropriationRecord records fiscal money paid into a programme's
// fund, pending an approver (POST /ledger/appropriations).
func (s *Server) handleAppropriationRecord(w http.ResponseWriter, r *http.Request) error {
	form := page.MoneyForm{Programme: r.PostFormValue("programme_id"), Amount: strings.TrimSpace(r.PostFormValue("amount")),
		ValueDate: r.PostFormValue("value_date"), Reference: r.PostFormValue("reference"), Note: r.PostFormValue("note"),
		Key: r.PostFormValue("idempotency_key")}
	in := postgres.AppropriationInput{Reference: form.Reference, Note: form.Note, IdempotencyKey: form.Key}
	var err error
	in.ProgrammeID, err = parseOptionalID("programme_id", "申报批次", form.Programme)
	if err == nil && in.ProgrammeID == 0 {
		err = applications.FieldError("programme_id", "请选择申报批次。")
	}
	if err == nil {
		in.Amount, err = parseAmount(form.Amount)
	}
	if err == nil {
		in.ValueDate, err = parseDay("value_date", form.ValueDate)
	}
	var a postgres.Appropriation
	if err == nil {
		a, err = s.DB.RecordAppropriation(r.Context(), actor(r), in)
	}
	if e, ok := refused(err); ok {
		v, verr := s.appropriationsView(r, form)
		if verr != nil {
			return verr
		}
		v.Errors, v.Error = fieldErrors(err)
		return s.render(w, r, statusOf[e.Kind], page.LedgerAppropriations(v))
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/ledger/appropriations/"+strconv.FormatInt(a.ID, 10), "财政拨入已登记，待审批人审批。")
}

// handleAppropriationShow shows one appropriation with its approvals and,
// for an approver who did not record it, the approve and reject forms
// (GET /ledger/appropriations/{id}).
func (s *Server) handleAppropriationShow(w http.ResponseWriter, r *http.Request) error {
	return appropriationPage.show(s, w, r)
}

// handleAppropriationApprove approves and posts (POST
// /ledger/appropriations/{id}/approve). The maker gets 403.
func (s *Server) handleAppropriationApprove(w http.ResponseWriter, r *http.Request) error {
	return appropriationPage.check(s, w, r, func(id int64, key string) (postgres.Appropriation, error) {
		return s.DB.ApproveAppropriation(r.Context(), actor(r), id, key)
	}, "已审批通过并记账。")
}

// handleAppropriationReject sends an appropriation back (POST
// /ledger/appropriations/{id}/reject).
func (s *Server) handleAppropriationReject(w http.ResponseWriter, r *http.Request) error {
	return appropriationPage.check(s, w, r, func(id int64, key string) (postgres.Appropriation, error) {
		return s.DB.RejectAppropriation(r.Context(), actor(r), id, key, r.PostFormValue("comment"))
	}, "已退回。")
}

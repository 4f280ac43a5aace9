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

// disbursementRoutes: a project's disbursement plan, recording a tranche and
// its approval.
func (s *Server) disbursementRoutes() []route {
	return []route{
		{"GET", "/disbursements", can(applications.ActionReadLedger).inMenu(navDisbursements, "拨付").menuFor(staff, approver), s.handleDisbursements},
		{"GET", "/disbursements/{id}", can(applications.ActionReadLedger), s.handleDisbursementShow},
		{"POST", "/disbursements/{id}/approve", can(applications.ActionApproveDisbursement), s.handleDisbursementApprove},
		{"POST", "/disbursements/{id}/reject", can(applications.ActionApproveDisbursement), s.handleDisbursementReject},
		{"GET", "/applications/{id}/disbursements", can(applications.ActionReadLedger), s.handleDisbursementPlan},
		{"POST", "/applications/{id}/disbursements", can(applications.ActionRecordDisbursement), s.handleDisbursementRecord},
		{"POST", "/applications/{id}/milestones", can(applications.ActionConfirmMilestone), s.handleMilestoneConfirm},
	}
}

// DisbursementPart builds the disbursement section of an application's
// page (page.DisbursementSection) for the current user: staff get the
// forms when the project is contracted or funded. The application page can
// include it for staff, approvers and auditors once the project is
// contracted.
func (s *Server) DisbursementPart(r *http.Request, a applications.Application) (page.DisbursementPart, error) {
	return s.disbursementPart(r, a, page.MoneyForm{})
}

func (s *Server) disbursementPart(r *http.Request, a applications.Application, form page.MoneyForm) (page.DisbursementPart, error) {
	plan, err := s.DB.DisbursementPlan(r.Context(), a.ID)
	if err != nil {
		return page.DisbursementPart{}, err
	}
	v := page.DisbursementPart{Plan: plan, Form: form}
	u := currentUser(r)
	v.CanRecord = u.Role.Can(applications.ActionRecordDisbursement) && plan.Open() && plan.AgreementID != 0
	v.CanConfirm = u.Role.Can(applications.ActionConfirmMilestone) && plan.Open() && plan.AgreementID != 0
	if !v.CanRecord {
		return v, nil
	}
	firstOpen := ""
	for _, t := range plan.Tranches {
		if t.Gated() || !t.Remaining().IsPositive() {
			continue
		}
		no := strconv.Itoa(t.No)
		if firstOpen == "" {
			firstOpen = no
			if v.Form.Amount == "" {
				v.Form.Amount = t.Remaining().StringFixed(2)
			}
		}
		v.Tranches = append(v.Tranches, ui.Option{Value: no,
			Label: "第 " + no + " 笔（剩余 " + applications.FormatAmount(t.Remaining()) + " 元）"})
	}
	if v.Form.Tranche == "" {
		v.Form.Tranche = firstOpen
	}
	if v.Form.Key == "" {
		v.Form.Key = newFormKey(r.Context())
	}
	if v.Form.ValueDate == "" {
		v.Form.ValueDate = day.ISO(day.Today(s.Now()))
	}
	return v, nil
}

// loadMoneyApplication finds the route's application for the money pages
// (staff, approvers and auditors see every application).
func (s *Server) loadMoneyApplication(r *http.Request) (applications.Application, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return applications.Application{}, err
	}
	return s.DB.FindApplication(r.Context(), id)
}

// handleDisbursementPlan is a project's disbursement page: tranche plan,
// milestones, disbursements and the form to record one
// (GET /applications/{id}/disbursements).
func (s *Server) handleDisbursementPlan(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadMoneyApplication(r)
	if err != nil {
		return err
	}
	v, err := s.disbursementPart(r, a, page.MoneyForm{})
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.DisbursementPlanPage(v))
}

// handleDisbursementRecord records a disbursement of one tranche, pending
// an approver (POST /applications/{id}/disbursements). The form's
// idempotency key makes a double submit record once.
func (s *Server) handleDisbursementRecord(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadMoneyApplication(r)
	if err != nil {
		return err
	}
	form := page.MoneyForm{Tranche: r.PostFormValue("tranche"), Amount: strings.TrimSpace(r.PostFormValue("amount")),
		ValueDate: r.PostFormValue("value_date"), Reference: r.PostFormValue("reference"), Note: r.PostFormValue("note"),
		Key: r.PostFormValue("idempotency_key")}
	in := applications.DisbursementInput{ApplicationID: a.ID, Reference: form.Reference, Note: form.Note, IdempotencyKey: form.Key}
	tranche, err := parseOptionalID("tranche", "拨付期次", form.Tranche)
	if err == nil && tranche == 0 {
		err = applications.FieldError("tranche", "请选择拨付期次。")
	}
	in.Tranche = int(min(tranche, 1000))
	if err == nil {
		in.Amount, err = parseAmount(form.Amount)
	}
	if err == nil {
		in.ValueDate, err = parseDay("value_date", form.ValueDate)
	}
	var d applications.Disbursement
	if err == nil {
		d, err = s.DB.RecordDisbursement(r.Context(), actor(r), in)
	}
	if e, ok := refused(err); ok {
		v, verr := s.disbursementPart(r, a, form)
		if verr != nil {
			return verr
		}
		v.Errors, v.Error = fieldErrors(err)
		return s.render(w, r, statusOf[e.Kind], page.DisbursementPlanPage(v))
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/disbursements/"+strconv.FormatInt(d.ID, 10), "拨付已登记，待审批人审批。")
}

// handleMilestoneConfirm records that a gated tranche's milestone is met
// (POST /applications/{id}/milestones).
func (s *Server) handleMilestoneConfirm(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadMoneyApplication(r)
	if err != nil {
		return err
	}
	tranche, err := parseOptionalID("tranche", "拨付期次", r.PostFormValue("tranche"))
	if err == nil {
		err = s.DB.ConfirmMilestone(r.Context(), actor(r), a.ID, int(min(tranche, 1000)), r.PostFormValue("note"))
	}
	if e, ok := refused(err); ok {
		v, verr := s.disbursementPart(r, a, page.MoneyForm{})
		if verr != nil {
			return verr
		}
		v.Error = e.Message
		return s.render(w, r, statusOf[e.Kind], page.DisbursementPlanPage(v))
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "/disbursements"), "里程碑已确认，该期可以登记拨付。")
}

// handleDisbursements lists disbursements; approvers land on the pending
// ones (GET /disbursements).
func (s *Server) handleDisbursements(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	status := moneyStatus(q.Get("status"))
	if _, set := q["status"]; !set && currentUser(r).Role == approver { // not a permission: the approver's default queue
		status = applications.MoneyPending
	}
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	const size = 50
	items, err := s.DB.ListDisbursements(r.Context(), postgres.DisbursementFilter{Status: status, BeforeID: max(before, 0), Limit: size})
	if err != nil {
		return err
	}
	v := page.DisbursementQueueView{Items: items, Status: status}
	if len(items) == size {
		v.NextID = items[len(items)-1].ID
	}
	return s.render(w, r, http.StatusOK, page.DisbursementQueue(v))
}

// handleDisbursementShow shows one disbursement with its approvals and,
// for an approver who did not record it, the approve and reject forms
// (GET /disbursements/{id}).
func (s *Server) handleDisbursementShow(w http.ResponseWriter, r *http.Request) error {
	return disbursementPage.show(s, w, r)
}

// handleDisbursementApprove approves a disbursement: the money moves and
// the entry Dr 1221 / Cr 1002 is posted in one transaction (POST
// /disbursements/{id}/approve). The maker gets 403 and an audit row.
func (s *Server) handleDisbursementApprove(w http.ResponseWriter, r *http.Request) error {
	return disbursementPage.approveChecked(s, w, r, func(id int64, key string) (applications.Disbursement, error) {
		return s.DB.ApproveDisbursement(r.Context(), actor(r), id, key)
	}, "拨付已批准并记账（借 1221 先投资金 / 贷 1002 专项资金存款），项目进入投后管理。下一步：企业按期报送进展报告，完成融资或实现销售时及时报告；下一笔拨付到期时由经办人登记（有里程碑的须先确认里程碑），再由审批人审批。")
}

// handleDisbursementReject sends a disbursement back with a reason (POST
// /disbursements/{id}/reject).
func (s *Server) handleDisbursementReject(w http.ResponseWriter, r *http.Request) error {
	return disbursementPage.check(s, w, r, func(id int64, key string) (applications.Disbursement, error) {
		return s.DB.RejectDisbursement(r.Context(), actor(r), id, key, r.PostFormValue("comment"))
	}, "已退回经办人。")
}

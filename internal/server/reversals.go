package server

import (
	"net/http"
	"strconv"
	"strings"

	"ite/internal/applications"
	"ite/internal/ledger"
	"ite/internal/postgres"
	"ite/web/page"
)

// reversalRoutes: corrections (冲正) of posted entries: requested, then
// approved by an approver.
func (s *Server) reversalRoutes() []route {
	return []route{
		{"GET", "/ledger/reversals", can(applications.ActionReadReversals), s.handleReversals},
		{"POST", "/ledger/reversals", can(applications.ActionRequestReversal), s.handleReversalRequest},
		{"GET", "/ledger/reversals/{id}", can(applications.ActionReadReversals), s.handleReversalShow},
		{"POST", "/ledger/reversals/{id}/approve", can(applications.ActionApproveReversal), s.handleReversalApprove},
		{"POST", "/ledger/reversals/{id}/reject", can(applications.ActionApproveReversal), s.handleReversalReject},
	}
}

// reversalPanel fills the correction panel of entry e's page for the
// current user.
func (s *Server) reversalPanel(r *http.Request, e ledger.Entry, p page.ReversalPanel) (page.ReversalPanel, error) {
	opt, err := s.DB.FindEntryReversal(r.Context(), e.Seq)
	if err != nil {
		return p, err
	}
	p.Seq, p.Option = e.Seq, opt
	p.CanRequest = currentUser(r).Role.Can(applications.ActionRequestReversal)
	if p.CanRequest && p.Form.Key == "" {
		p.Form.Key = newFormKey(r.Context())
	}
	return p, nil
}

func (s *Server) reversalsView(r *http.Request, form page.ReversalForm) (page.ReversalListView, error) {
	q := r.URL.Query()
	v := page.ReversalListView{Status: moneyStatus(q.Get("status")), Form: form}
	u := currentUser(r)
	if _, set := q["status"]; !set && u.Role == approver { // not a permission: the approver's default queue
		v.Status = applications.MoneyPending // the approver's queue
	}
	v.CanRequest = u.Role.Can(applications.ActionRequestReversal)
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	const size = 50
	items, err := s.DB.ListReversals(r.Context(), postgres.ReversalFilter{Status: v.Status, BeforeID: max(before, 0), Limit: size})
	if err != nil {
		return v, err
	}
	v.Items = items
	if len(items) == size {
		v.NextID = items[len(items)-1].ID
	}
	if v.CanRequest && v.Form.Key == "" {
		v.Form.Key = newFormKey(r.Context())
	}
	return v, nil
}

// handleReversals lists reversal requests; approvers land on the pending
// ones, staff (ActionRequestReversal) also get the form to ask for one by entry number
// (GET /ledger/reversals).
func (s *Server) handleReversals(w http.ResponseWriter, r *http.Request) error {
	v, err := s.reversalsView(r, page.ReversalForm{})
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.ReversalList(v))
}

// handleReversalRequest asks for an entry to be reversed, pending an
// approver (POST /ledger/reversals). The form's idempotency key makes a
// double submit ask once. A refusal goes back to the form it came from:
// the entry's page or the list.
func (s *Server) handleReversalRequest(w http.ResponseWriter, r *http.Request) error {
	form := page.ReversalForm{Entry: strings.TrimSpace(r.PostFormValue("entry_seq")), Reason: r.PostFormValue("reason"),
		Key: r.PostFormValue("idempotency_key"), From: r.PostFormValue("from")}
	seq, err := parseOptionalID("entry_seq", "凭证号", form.Entry)
	if err == nil && seq == 0 {
		err = applications.FieldError("entry_seq", "请填写要冲正的凭证号。")
	}
	var rv applications.Reversal
	if err == nil {
		rv, err = s.DB.RequestReversal(r.Context(), actor(r), applications.ReversalInput{EntrySeq: seq, Reason: form.Reason,
			IdempotencyKey: form.Key})
	}
	if e, ok := refused(err); ok {
		errs, msg := fieldErrors(err)
		if form.From == "entry" && seq > 0 {
			// The entry's form has only the reason field.
			if errs["reason"] == "" {
				errs, msg = nil, e.Message
			}
			return s.renderLedgerEntry(w, r, statusOf[e.Kind], seq, page.ReversalPanel{Form: form, Errors: errs, Error: msg})
		}
		v, verr := s.reversalsView(r, form)
		if verr != nil {
			return verr
		}
		v.Errors, v.Error = errs, msg
		return s.render(w, r, statusOf[e.Kind], page.ReversalList(v))
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/ledger/reversals/"+strconv.FormatInt(rv.ID, 10), "冲正申请已提交，待审批人审批。")
}

// handleReversalShow shows one reversal request with its approvals and,
// for an approver who did not ask for it, the approve and send-back forms
// (GET /ledger/reversals/{id}).
func (s *Server) handleReversalShow(w http.ResponseWriter, r *http.Request) error {
	return reversalPage.show(s, w, r)
}

// handleReversalApprove approves a reversal: the reversing entry is posted
// and the business record undone in one transaction (POST
// /ledger/reversals/{id}/approve). The requester gets 403 and an audit row.
func (s *Server) handleReversalApprove(w http.ResponseWriter, r *http.Request) error {
	return reversalPage.check(s, w, r, func(id int64, key string) (applications.Reversal, error) {
		return s.DB.ApproveReversal(r.Context(), actor(r), id, key)
	}, "冲正已审批通过，冲销凭证已记账。")
}

// handleReversalReject sends a reversal request back with a reason (POST
// /ledger/reversals/{id}/reject).
func (s *Server) handleReversalReject(w http.ResponseWriter, r *http.Request) error {
	return reversalPage.check(s, w, r, func(id int64, key string) (applications.Reversal, error) {
		return s.DB.RejectReversal(r.Context(), actor(r), id, key, r.PostFormValue("comment"))
	}, "已退回申请人。")
}

package server

import (
	"context"
	"net/http"
	"strconv"

	"github.com/a-h/templ"

	"ite/internal/applications"
	"ite/internal/postgres"
	"ite/web/page"
	"ite/web/ui"
)

// moneyPage is the page of one maker–checker money record (an
// appropriation, a disbursement, a correction request): the record with
// its approvals and, for an approver who did not prepare it, the approve
// and send-back forms. The three kinds differ only in the fields below.
type moneyPage[T any] struct {
	path       string              // the record's page is path + its ID
	recordType string              // its audit trail's object type
	approve    applications.Action // the checker's action on it
	find       func(db *postgres.DB, ctx context.Context, id int64) (T, error)
	facts      func(T) (id, preparedBy int64, status applications.MoneyStatus)
	view       func(rec T, msg string, check page.CheckView, trail []page.AuditLine) templ.Component
	// confirm, when set, is what the approver confirms (the amount in 大写)
	// before an approval that cannot be undone; approve then refuses a POST
	// without the confirmation.
	confirm func(T) page.Confirmation
}

func (p moneyPage[T]) render(s *Server, w http.ResponseWriter, r *http.Request, status int, rec T, msg string, errs ui.Errors) error {
	u := currentUser(r)
	id, preparedBy, st := p.facts(rec)
	pending := st == applications.MoneyPending
	check := page.CheckView{Action: p.path + strconv.FormatInt(id, 10), Pending: pending, IsMaker: preparedBy == u.ID,
		CanCheck: pending && u.Role.Can(p.approve) && preparedBy != u.ID, Key: newFormKey(r.Context()), Errors: errs}
	if p.confirm != nil {
		c := p.confirm(rec)
		check.Confirm = &c
	}
	trail, err := s.trail(r, p.recordType, id)
	if err != nil {
		return err
	}
	return s.render(w, r, status, p.view(rec, msg, check, trail))
}

// show serves GET path{id}.
func (p moneyPage[T]) show(s *Server, w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rec, err := p.find(s.DB, r.Context(), id)
	if err != nil {
		return err
	}
	return p.render(s, w, r, http.StatusOK, rec, "", nil)
}

// check runs an approver's decision (POST path{id}/approve or /reject)
// and goes back to the record with done as a flash; a refusal other than
// the maker–checker rule (403) re-renders the record with the reason.
func (p moneyPage[T]) check(s *Server, w http.ResponseWriter, r *http.Request, decide func(id int64, key string) (T, error), done string) error {
	return p.decide(s, w, r, false, decide, done)
}

// approveChecked is check for the approval itself: with a confirm step it is
// refused (422, nothing written) unless the confirmation was ticked.
func (p moneyPage[T]) approveChecked(s *Server, w http.ResponseWriter, r *http.Request, decide func(id int64, key string) (T, error), done string) error {
	return p.decide(s, w, r, p.confirm != nil, decide, done)
}

func (p moneyPage[T]) decide(s *Server, w http.ResponseWriter, r *http.Request, confirm bool, decide func(id int64, key string) (T, error), done string) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if confirm {
		err = confirmed(r)
	}
	if err == nil {
		_, err = decide(id, r.PostFormValue("idempotency_key"))
	}
	if e, ok := refused(err); ok {
		cur, ferr := p.find(s.DB, r.Context(), id)
		if ferr != nil {
			return ferr
		}
		errs, msg := fieldErrors(err)
		return p.render(s, w, r, statusOf[e.Kind], cur, msg, errs)
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, p.path+strconv.FormatInt(id, 10), done)
}

var appropriationPage = moneyPage[postgres.Appropriation]{path: "/ledger/appropriations/", recordType: applications.RecordAppropriation,
	approve: applications.ActionApproveAppropriation,
	find:    (*postgres.DB).FindAppropriation,
	facts: func(a postgres.Appropriation) (int64, int64, applications.MoneyStatus) {
		return a.ID, a.PreparedBy, a.Status
	},
	view: func(a postgres.Appropriation, msg string, check page.CheckView, trail []page.AuditLine) templ.Component {
		return page.LedgerAppropriation(page.LedgerAppropriationView{Item: a, Error: msg, Check: check, Trail: trail})
	}}

var disbursementPage = moneyPage[applications.Disbursement]{path: "/disbursements/", recordType: applications.RecordDisbursement,
	approve: applications.ActionApproveDisbursement,
	find:    (*postgres.DB).FindDisbursement,
	facts: func(d applications.Disbursement) (int64, int64, applications.MoneyStatus) {
		return d.ID, d.PreparedBy, d.Status
	},
	view: func(d applications.Disbursement, msg string, check page.CheckView, trail []page.AuditLine) templ.Component {
		return page.DisbursementShow(page.DisbursementShowView{Item: d, Error: msg, Check: check, Trail: trail})
	},
	confirm: func(d applications.Disbursement) page.Confirmation {
		return page.Confirmation{What: "批准拨付", Amount: d.Amount,
			Effect: "批准后立即记账（借 1221 先投资金 / 贷 1002 专项资金存款），不可撤销；如有错误只能另行申请冲正。"}
	}}

// confirmed refuses an irreversible money approval whose form did not
// carry the ticked confirmation (page.Confirmation): the approver must have
// seen the amount in 大写. Errors: Invalid, beside the checkbox.
func confirmed(r *http.Request) error {
	if r.PostFormValue(page.ConfirmField) != "1" {
		return applications.FieldError(page.ConfirmField, "请先核对大写金额，勾选“我已核对上述金额，确认批准”后再提交；本次未批准，未记账。")
	}
	return nil
}

var reversalPage = moneyPage[applications.Reversal]{path: "/ledger/reversals/", recordType: applications.RecordReversal,
	approve: applications.ActionApproveReversal,
	find:    (*postgres.DB).FindReversal,
	facts: func(rv applications.Reversal) (int64, int64, applications.MoneyStatus) {
		return rv.ID, rv.PreparedBy, rv.Status
	},
	view: func(rv applications.Reversal, msg string, check page.CheckView, trail []page.AuditLine) templ.Component {
		return page.ReversalShow(page.ReversalShowView{Item: rv, Error: msg, Check: check, Trail: trail})
	}}

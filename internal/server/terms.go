package server

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/conversion"
	"ite/internal/day"
	"ite/web/format"
	"ite/web/page"
	"ite/web/ui"

	"github.com/shopspring/decimal"
)

// termsRoutes: changes to the terms of a signed agreement, and the live
// preview of the structured terms form.
func (s *Server) termsRoutes() []route {
	return []route{
		{"POST", "/applications/{id}/agreement/terms", can(applications.ActionProposeTerms), s.handleTermsPropose},
		{"POST", "/agreements/{id}/approve", can(applications.ActionApproveTerms), s.handleTermsApprove},
		{"POST", "/terms/preview", can(applications.ActionCalculate), s.handleTermsPreview},
	}
}

// parseTerms reads the structured terms form of a request: the terms as
// stored (JSON), the form as typed, and the field errors (nil when none).
// An "add a row" or "remove" press is reported as edit: show the form
// again, save nothing.
func parseTerms(r *http.Request, c applications.TermsContext) (raw []byte, f applications.TermsForm, errs ui.Errors, edit bool) {
	f = applications.ParseTermsForm(r.PostForm)
	if applications.TermsFormEdit(r.PostForm) {
		return nil, f, nil, true
	}
	t, ferrs := f.Terms(c)
	if ferrs != nil {
		return nil, f, ui.Errors(ferrs), false
	}
	raw, _ = json.Marshal(t)
	return raw, f, nil, false
}

// handleTermsPropose drafts a terms change (POST /applications/{id}/agreement/terms).
func (s *Server) handleTermsPropose(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return applications.Errorf(applications.BadRequest, "表单无法读取，请重新提交。")
	}
	v, err := s.agreementView(r, a, nil, "")
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	raw, f, errs, edit := parseTerms(r, applications.TermsContext{Amount: v.Current.Amount, SignedOn: v.Current.SignedOn})
	v.TermsForm, v.Reason = f, reason
	switch {
	case edit:
		return s.render(w, r, http.StatusOK, page.Agreement(v))
	case errs != nil:
		v.Errors, v.FormError = errs, "协议条款有误，请按提示修改。"
		return s.render(w, r, http.StatusUnprocessableEntity, page.Agreement(v))
	}
	err = s.DB.ProposeTerms(r.Context(), actor(r), a.ID, raw, reason)
	if e, ok := refused(err); ok {
		v.Errors, v.FormError = ui.Errors{}, e.Message
		if e.Field != "" {
			v.Errors[e.Field] = e.Message
		}
		return s.render(w, r, statusOf[e.Kind], page.Agreement(v))
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "/agreement"), "条款变更已提交审批人。")
}

// handleTermsApprove puts a terms change in force (POST /agreements/{id}/approve).
func (s *Server) handleTermsApprove(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	appID, err := s.DB.AgreementApplication(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.DB.ApproveTerms(r.Context(), actor(r), id); err != nil {
		if applications.ErrorKind(err) == applications.Forbidden {
			s.audit(r, audit.Event{Name: "maker_checker_refused", ObjectType: "application", ObjectID: strconv.FormatInt(appID, 10), Outcome: audit.Refused})
		}
		return err
	}
	return s.redirectWithFlash(w, r, applicationPath(appID, "/agreement"), "条款变更已生效，原版本保留可查。")
}

// handleTermsPreview runs the terms being typed through the calculator on
// the sample inputs and answers the preview fragment
// (POST /terms/preview, htmx). A form that does not yet check answers
// its errors in the fragment, with 200: the preview is advice, not a save.
func (s *Server) handleTermsPreview(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return applications.Errorf(applications.BadRequest, "表单无法读取，请重新提交。")
	}
	var v page.TermsPreviewView
	sample, serrs := applications.ParseTermsSample(r.PostForm, day.Today(s.Now()))
	t, ferrs := applications.ParseTermsForm(r.PostForm).Terms(previewContext(r, sample))
	switch {
	case ferrs != nil:
		v.Errors = previewErrors(ferrs)
	case serrs != nil:
		v.Errors = previewErrors(serrs)
	default:
		c, x, err := t.Preview(sample)
		if err != nil {
			v.Error = applications.ErrorMessage(err)
			break
		}
		money := func(s string) string { return format.Yuan(decimal.RequireFromString(s)) }
		v.Amount, v.Price, v.Units, v.Basis = money(c.ConversionAmount), c.ConversionPrice, c.Units, priceBasisLabel(c.PriceBasis)
		v.Stake, v.Reserve = format.Stake(decimal.RequireFromString(c.Stake)), money(c.ToCapitalReserve)
		v.ExitOn = format.Date(sample.ExitOn)
		v.Proceeds, v.Interest, v.Gain = money(x.Totals.Proceeds), money(x.Totals.Interest), money(x.Totals.Gain)
	}
	return s.render(w, r, http.StatusOK, page.TermsPreview(v))
}

// previewContext is the project the previewed form belongs to: the
// decision's amount as typed, or the agreement's (terms_amount,
// terms_signed_on, carried by the terms change form); the sample amount
// otherwise.
func previewContext(r *http.Request, sample applications.TermsSample) applications.TermsContext {
	c := applications.TermsContext{Amount: sample.Amount}
	for _, name := range []string{"terms_amount", "amount"} {
		if d, err := applications.ParseAmount(r.PostFormValue(name)); err == nil && d.IsPositive() {
			c.Amount = d
		}
	}
	if d, err := day.Parse(r.PostFormValue("terms_signed_on")); err == nil {
		c.SignedOn = d
	}
	return c
}

// previewErrors lists the form's first few errors for the preview
// fragment, in a stable order; the messages beside the fields say the rest
// when saving.
func previewErrors(errs applications.TermsFormErrors) []string {
	keys := slices.Sorted(maps.Keys(errs))
	var out []string
	for _, k := range keys[:min(len(keys), 3)] {
		out = append(out, errs[k])
	}
	return out
}

func priceBasisLabel(b string) string {
	return map[string]string{conversion.BasisRound: "融资轮次价格", conversion.BasisAppraisal: "评估价格", conversion.BasisDiscount: "折扣价格",
		conversion.BasisCap: "估值上限价格", conversion.BasisFloor: "最低价格", conversion.BasisFixedPrice: "约定价格",
		conversion.BasisFixedStake: "约定持股比例", conversion.BasisStakeCeiling: "持股比例上限", conversion.BasisPar: "面值"}[b]
}

package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"ite/internal/applications"
	"ite/internal/day"
	"ite/internal/postgres"
	"ite/web/ui"
)

// endingRoutes: ending a project without conversion.
func (s *Server) endingRoutes() []route {
	return []route{
		{"POST", "/applications/{id}/endings", can(applications.ActionPrepareEnding), s.handleEndingPrepare},
		{"POST", "/endings/{id}/approve", can(applications.ActionApproveEquityProposal), s.handleEndingApprove},
	}
}

// endingOptions lists what staff may prepare in a state (DOMAIN §4), given
// the project's latest acceptance (nil: none): a lapse closes as a grant
// only after a passed acceptance (DOMAIN §16), so otherwise recovery and
// extension are offered.
func endingOptions(st applications.State, acc *applications.Acceptance) []ui.Option {
	var kinds []string
	switch st {
	case applications.StateLapsed:
		kinds = []string{postgres.EndingRepay, postgres.EndingExtend}
		if applications.CheckGrantEnding(acc) == nil {
			kinds = []string{postgres.EndingGrant, postgres.EndingRepay, postgres.EndingExtend}
		}
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
	in := postgres.EndingInput{Kind: form.Get("kind"), Reason: strings.TrimSpace(form.Get("reason"))}
	if in.Kind == postgres.EndingExtend {
		if in.Terms, err = s.extendedTerms(r, a.ID, form.Get("window_years")); err != nil {
			drop()
			return s.equityRefuse(w, r, a.ID, err)
		}
	}
	if d, err := day.Parse(form.Get("value_date")); err == nil {
		in.ValueDate = d
	}
	if in.Amount, err = optionalMoney("amount", form.Get("amount")); err == nil {
		_, err = s.DB.PrepareEnding(r.Context(), actor(r), a.ID, in, form.Get("idempotency_key"), evidence)
	}
	if err != nil {
		drop()
		return s.equityRefuse(w, r, a.ID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "/equity"), "已提交审批人审批。")
}

// extendedTerms are the signed agreement's terms with the conversion
// window extended to the years typed: an extension changes the window
// only, so the form asks for that, never for the terms as JSON. Errors:
// Invalid (window_years), and the store's.
func (s *Server) extendedTerms(r *http.Request, appID int64, years string) ([]byte, error) {
	n, err := strconv.Atoi(strings.TrimSpace(years))
	if err != nil || n < 1 {
		return nil, applications.FieldError("window_years", "请填写延长后的转股期限（年，自签约起），如 7。")
	}
	g, err := s.DB.SignedAgreement(r.Context(), appID)
	if err != nil {
		return nil, err
	}
	t := g.Terms
	t.WindowYears = n
	return json.Marshal(t)
}

// handleEndingApprove (POST /endings/{id}/approve).
func (s *Server) handleEndingApprove(w http.ResponseWriter, r *http.Request) error {
	return s.approveProposal(w, r, "endings", s.DB.ApproveEnding, func(appID, id int64) (string, error) {
		es, err := s.DB.ListEndings(r.Context(), appID)
		if err != nil {
			return "", err
		}
		for _, e := range es {
			if e.ID == id {
				return endingDone[e.Kind], nil
			}
		}
		return "已批准。", nil
	})
}

// endingDone says, after an ending's approval, what was booked and who
// acts next (DOMAIN §4: closed_grant, recovered and written_off end the
// lifecycle; recovery waits for the enterprise's repayment).
var endingDone = map[string]string{
	postgres.EndingGrant: "结题已批准：先投资金转为无偿资助并记账（借 6401 无偿资助支出 / 贷 1221 先投资金），项目结题（转无偿资助），流程到此结束。",
	postgres.EndingRepay: "追回已批准并记账（借 1131 应收追回款 / 贷 1221 先投资金），项目进入追回中。" +
		"下一步：企业按通知退回资金；收到款项后由经办人登记“收到追回款”，再由审批人审批。",
	postgres.EndingReceipt: "收到追回款已批准并记账（借 1002 专项资金存款 / 贷 1131 应收追回款）。" +
		"尚有应收余额的，由经办人继续登记后续追回款；全部收回后项目为已追回。",
	postgres.EndingExtend: "延长转股期限已批准，新的期限已生效，项目回到投后管理。下一步：企业继续按期报送进展报告，满足转股条件时及时报告。",
	postgres.EndingWriteOff: "尽职免责核销已批准并记账（借 6711 投资损失及核销），项目已核销，流程到此结束；" +
		"核销理由与证明材料留档，审计人员可在台账和审计日志中查看。",
}

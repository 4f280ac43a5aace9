package page

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/day"
	"ite/internal/postgres"
	"ite/web/format"
)

// AgreementFacts is what an agreement is generated from: the application,
// its enterprise's legal representative, the programme, the template in
// force and the agreement version (its terms, amount and signing date).
type AgreementFacts struct {
	App       applications.Application
	LegalRep  string
	Programme applications.Programme
	Template  postgres.AgreementTemplate
	Agreement postgres.Agreement
	Number    string
}

// figures is an amount in figures with thousands separators, "¥1,400,000.00".
func figures(d decimal.Decimal) string { return "¥" + strings.TrimSuffix(format.Yuan(d), " 元") }

// trancheWhen says when a tranche is due: "签约后立即拨付" / "签约后 6 个月内"
// before signing, the date once the agreement is signed (the due date of
// applications.DisbursementPlan: signing + months, by time.AddDate).
func trancheWhen(months int, signedOn time.Time) string {
	switch {
	case signedOn.IsZero() && months == 0:
		return "签约后立即拨付"
	case signedOn.IsZero():
		return fmt.Sprintf("签约后 %d 个月内", months)
	case months == 0:
		return "签约时（" + day.Chinese(signedOn) + "）"
	default:
		return day.Chinese(signedOn.AddDate(0, months, 0)) + "前（签约后 " + fmt.Sprint(months) + " 个月内）"
	}
}

// TrancheCondition is what must hold before a tranche is paid, as the
// agreement and the decision to fund print it: its milestone (confirmed by
// the bureau) and, for a tranche gated by acceptance (issue 18), a passed
// 结题验收 — the same gates applications.DisbursementPlan enforces, so the
// paper and the refusal say the same thing.
func TrancheCondition(tr applications.TrancheTerm) string {
	m := strings.TrimRight(strings.TrimSpace(tr.Milestone), "。；;.")
	switch {
	case m != "" && tr.Gate == applications.GateAcceptance:
		return m + "并经甲方确认，且经结题验收合格后拨付"
	case tr.Gate == applications.GateAcceptance:
		return "经结题验收合格后拨付"
	case m != "":
		return m + "，经甲方确认后拨付"
	}
	return "协议生效后拨付"
}

// founders are 丁方, the buy-back parties: the legal representative and
// the project lead (once when the same person).
func founders(legalRep, lead string) []string {
	var out []string
	for _, n := range []string{strings.TrimSpace(legalRep), strings.TrimSpace(lead)} {
		if n != "" && !contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// BuildAgreement generates the agreement document from its facts.
func BuildAgreement(f AgreementFacts) applications.AgreementDocument {
	g, t := f.Agreement, f.Agreement.Terms
	signed := "____年__月__日"
	if !g.SignedOn.IsZero() {
		signed = day.Chinese(g.SignedOn)
	}
	people := founders(f.LegalRep, f.App.LeadName)
	var triggers []string
	if t.Triggers.FinancingMinNewMoney != "" {
		triggers = append(triggers, "完成市场化股权融资，新增投资额不低于"+moneyText(t.Triggers.FinancingMinNewMoney))
	}
	if t.Triggers.RevenueMin != "" {
		triggers = append(triggers, "经审计的累计营业收入不低于"+moneyText(t.Triggers.RevenueMin))
	}
	if m := strings.TrimSpace(t.Triggers.OtherMilestone); m != "" {
		triggers = append(triggers, m)
	}
	for i := range triggers {
		triggers[i] = fmt.Sprintf("（%d）%s", i+1, triggers[i])
	}
	window := fmt.Sprintf("自签约之日起 %d 年", t.WindowYears)
	if !g.SignedOn.IsZero() {
		window += "，至" + day.Chinese(day.AddYears(g.SignedOn, t.WindowYears)) + "止"
	}
	values := map[string]string{
		"协议编号": f.Number, "甲方": f.Template.Bureau, "乙方": f.Programme.HoldingPlatform, "丙方": f.App.Enterprise,
		"丁方": strings.Join(people, "、"), "企业名称": f.App.Enterprise, "统一社会信用代码": f.App.EnterpriseUSCC,
		"法定代表人": f.LegalRep, "项目负责人": f.App.LeadName, "项目名称": f.App.Title, "申报批次": f.Programme.Name,
		"投资金额": figures(g.Amount), "投资金额大写": format.Uppercase(g.Amount),
		"转股条件": strings.Join(triggers, "；") + "。", "转股期限": window, "转股价格": pricingText(t),
		"退出安排": exitText(t), "到期未转股": lapseText(t.LapsePolicy), "签约日期": signed,
	}
	tranches := applications.AgreementBlock{Kind: "table", Head: []string{"批次", "比例", "金额（元）", "金额（大写）", "拨付时间", "拨付条件"}}
	for i, a := range t.TrancheAmounts(g.Amount) {
		tr := t.Tranches[i]
		tranches.Rows = append(tranches.Rows, []string{fmt.Sprintf("第 %d 笔", i+1), pct(tr.Share), figures(a),
			format.Uppercase(a), trancheWhen(tr.MonthsAfterSigning, g.SignedOn), TrancheCondition(tr)})
	}
	tranches.Rows = append(tranches.Rows, []string{"合计", "100%", figures(g.Amount), format.Uppercase(g.Amount), "", ""})
	exits := applications.AgreementBlock{Kind: "table", Head: []string{"期次", "时间", "退出份额"}}
	for i, s := range t.ExitSchedule {
		part := pct(s.Fraction) + "（按原持股计）"
		if s.Rest {
			part = "剩余全部"
		}
		exits.Rows = append(exits.Rows, []string{fmt.Sprintf("第 %d 期", i+1), fmt.Sprintf("转股后第 %d 年", s.YearsAfterConversion), part})
	}
	doc := applications.AgreementDocument{
		Title:  "“先投后股”科技项目投资协议",
		Number: f.Number,
		Parties: []applications.AgreementParty{
			{Role: "甲方", Title: "投资管理方", Name: f.Template.Bureau},
			{Role: "乙方", Title: "持股平台", Name: f.Programme.HoldingPlatform},
			{Role: "丙方", Title: "受资助企业", Name: f.App.Enterprise, Detail: "统一社会信用代码：" + f.App.EnterpriseUSCC + "；法定代表人：" + f.LegalRep},
		},
		Blocks: applications.FillAgreementTemplate(f.Template.Body, values,
			map[string]applications.AgreementBlock{applications.PlaceholderTranches: tranches, applications.PlaceholderExits: exits}),
	}
	for _, p := range people {
		role := []string{}
		if p == strings.TrimSpace(f.LegalRep) {
			role = append(role, "法定代表人")
		}
		if p == strings.TrimSpace(f.App.LeadName) {
			role = append(role, "项目负责人")
		}
		doc.Parties = append(doc.Parties, applications.AgreementParty{Role: "丁方", Title: "回购义务人", Name: p,
			Detail: "丙方" + strings.Join(role, "、"), Person: true})
	}
	return doc
}

// AgreementJSON is the stored form of a generated agreement.
func AgreementJSON(d applications.AgreementDocument) []byte {
	b, _ := json.Marshal(d)
	return b
}

// StoredAgreement decodes a frozen agreement; ok is false when there is
// none (or it does not decode).
func StoredAgreement(b []byte) (applications.AgreementDocument, bool) {
	var d applications.AgreementDocument
	if len(b) == 0 || json.Unmarshal(b, &d) != nil {
		return d, false
	}
	return d, true
}

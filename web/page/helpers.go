// Package page holds one templ file per page, each with the small view
// model it renders.
package page

import (
	"errors"
	"strconv"
	"strings"

	"ite/internal/applications"
	"ite/internal/conversion"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func outcomeLabel(o string) string {
	switch o {
	case "success":
		return "成功"
	case "failure":
		return "失败"
	case "refused":
		return "拒绝"
	}
	return o
}

// waited renders how long something has waited, in days or hours.
func waited(now, since int64) string {
	d := now - since
	switch {
	case d >= 86400:
		return strconv.FormatInt(d/86400, 10) + " 天"
	case d >= 3600:
		return strconv.FormatInt(d/3600, 10) + " 小时"
	default:
		return "不到 1 小时"
	}
}

// sizeLabel shows a byte count as KiB or MiB.
func sizeLabel(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " 字节"
}

func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

func methodLabel(m string) string {
	return map[string]string{"random": "随机抽取", "manual": "手动指定", "replacement": "补抽"}[m]
}

func assignmentLabel(s applications.AssignmentStatus) string {
	return map[applications.AssignmentStatus]string{applications.AssignmentAssigned: "待声明", applications.AssignmentDeclared: "评审中",
		applications.AssignmentRecused: "已回避", applications.AssignmentSubmitted: "已提交"}[s]
}

func decisionStatusLabel(s applications.DecisionStatus) string {
	return map[applications.DecisionStatus]string{applications.DecisionPending: "待审批", applications.DecisionApproved: "已批准",
		applications.DecisionSentBack: "已退回"}[s]
}

func objectionLabel(s applications.ObjectionStatus) string {
	return map[applications.ObjectionStatus]string{applications.ObjectionOpen: "待处理", applications.ObjectionProposed: "拟认定成立，待审批",
		applications.ObjectionUpheld: "成立", applications.ObjectionDismissed: "不成立"}[s]
}

func agreementStatusLabel(s applications.AgreementStatus) string {
	return map[applications.AgreementStatus]string{applications.AgreementDraft: "待签署/待审批", applications.AgreementSigned: "生效",
		applications.AgreementSuperseded: "已被替代"}[s]
}

func calendarKind(k string) string {
	return map[string]string{"holiday": "法定节假日", "workday": "调休上班日"}[k]
}

func unitLabel(u string) string {
	return map[string]string{"registered_capital": "注册资本", "shares": "股本"}[u]
}

func eventStatusLabel(s applications.EventStatus) string {
	return map[applications.EventStatus]string{applications.EventReported: "待核实", applications.EventVerified: "已核实",
		applications.EventRejected: "不予认定"}[s]
}

// convStatusLabel names the status of a maker–checker record of the 后股
// half: a conversion, an exit or an ending (the three share their strings).
func convStatusLabel[S applications.ConversionStatus | applications.ExitStatus | applications.EndingStatus](s S) string {
	switch applications.ConversionStatus(s) {
	case applications.ConversionPending:
		return "待审批"
	case applications.ConversionApproved:
		return "已批准"
	case applications.ConversionRejected:
		return "已退回"
	}
	return ""
}

func basisLabel(b string) string {
	return map[string]string{"round": "按本轮融资价格", "appraisal": "按评估价格", "discount": "按折扣价", "cap": "按估值上限价",
		"floor": "按最低价", "fixed_price": "按约定价格", "fixed_stake": "按约定持股比例", "stake_ceiling": "受持股比例上限约束",
		"par": "不低于面值"}[b]
}

// calcError shows the engine's Chinese message.
func calcError(err error) string {
	var ie *conversion.InputError
	if errors.As(err, &ie) {
		return "测算无法完成：" + ie.Message
	}
	return "测算无法完成，请检查协议条款和已核实的事项。"
}

// postContract reports whether a project has reached the 后股 half, where
// its post-investment page applies.
func postContract(s applications.State) bool {
	switch s {
	case applications.StateFunded, applications.StateConversionDue, applications.StateConverted, applications.StateExiting,
		applications.StateExited, applications.StateLapsed, applications.StateClosedGrant, applications.StateRecovery,
		applications.StateRecovered, applications.StateWrittenOff:
		return true
	}
	return false
}

// amountValue is a typed amount shown back normalised in its input
// ("300万" → "3,000,000.00"); what is not an amount stays as typed.
func amountValue(s string) string { return applications.NormalAmount(s) }

// orNotGiven shows a value a person reads, or says it was not recorded.
func orNotGiven(s string) string {
	if strings.TrimSpace(s) == "" {
		return "（未填写）"
	}
	return s
}

// Package page holds one templ file per page, each with the small view
// model it renders.
package page

import (
	"strconv"

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

func materialBadgeClass(s applications.MaterialStatus) string {
	switch s {
	case applications.MaterialAccepted:
		return "ok"
	case applications.MaterialReturned:
		return "err"
	case applications.MaterialUploaded:
		return "warn"
	}
	return ""
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

func assignmentLabel(s string) string {
	return map[string]string{"assigned": "待声明", "declared": "评审中", "recused": "已回避", "submitted": "已提交"}[s]
}

func decisionStatusLabel(s string) string {
	return map[string]string{"pending": "待审批", "approved": "已批准", "sent_back": "已退回"}[s]
}

func objectionLabel(s string) string {
	return map[string]string{"open": "待处理", "proposed": "拟认定成立，待审批", "upheld": "成立", "dismissed": "不成立"}[s]
}

func agreementStatusLabel(s string) string {
	return map[string]string{"draft": "待签署/待审批", "signed": "生效", "superseded": "已被替代"}[s]
}

func calendarKind(k string) string {
	return map[string]string{"holiday": "法定节假日", "workday": "调休上班日"}[k]
}

func unitLabel(u string) string {
	return map[string]string{"registered_capital": "注册资本", "shares": "股本"}[u]
}

func eventStatusLabel(s string) string {
	return map[string]string{"reported": "待核实", "verified": "已核实", "rejected": "不予认定"}[s]
}

func convStatusLabel(s string) string {
	return map[string]string{"pending": "待审批", "approved": "已批准", "rejected": "已退回"}[s]
}

func basisLabel(b string) string {
	return map[string]string{"round": "按本轮融资价格", "appraisal": "按评估价格", "discount": "按折扣价", "cap": "按估值上限价",
		"floor": "按最低价", "fixed_price": "按约定价格", "fixed_stake": "按约定持股比例", "stake_ceiling": "受持股比例上限约束",
		"par": "不低于面值"}[b]
}

// calcError shows the engine's Chinese message.
func calcError(err error) string {
	if ie, ok := err.(*conversion.InputError); ok {
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

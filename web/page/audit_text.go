package page

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"ite/internal/applications"
	"ite/internal/ledger"
	"ite/internal/postgres"
)

// An audit record's detail is stored as canonical JSON (the chain hashes
// it); people read it as a Chinese field list: "状态：已提交；金额：
// 1,000,000.00". The stored bytes stay the evidence; this is its reading.

// detailKeys name the detail fields the application writes.
var detailKeys = map[string]string{
	"account": "科目", "accrual_from": "计息起点", "active": "在库", "address": "地址", "after": "修改后",
	"aggregation": "评分汇总方式", "agreement_id": "协议编号", "allocation": "成本分摊方式", "amount": "金额",
	"application_disbursed": "项目已拨付", "application_id": "项目编号", "appraised_value": "评估值",
	"as_of": "截止日期", "assignment_id": "评审任务编号", "audit": "审计链链头", "basis": "价格依据", "before": "修改前",
	"below_cap": "低于上限金额时", "buyer_kind": "受让方", "bytes": "字节数", "candidates": "候选专家",
	"cap_override": "突破单项目上限", "cap_override_allowed": "允许突破单项目上限", "checked": "已校验条数",
	"chosen": "抽中专家", "closes_on": "截止申报日", "code": "代码", "committed_before": "此前已承诺",
	"cost": "成本", "credit_report_max_age_days": "信用报告有效天数", "criteria": "评分标准", "decision_id": "资助决定编号",
	"digest": "摘要值", "discount": "折扣", "due_on": "到期日", "emails": "邮件数", "employer": "工作单位",
	"employer_uscc": "工作单位统一社会信用代码", "encrypted": "加密存储", "enterprise_id": "企业编号", "entries": "凭证数",
	"entry_hash": "凭证哈希", "entry_seq": "凭证序号", "event_date": "事项日期", "event_id": "事项编号",
	"exit_policy": "退出政策", "exit_schedule": "退出安排", "filters": "筛选条件", "financing_min_new_money": "融资触发最低金额",
	"first_bad": "首个异常序号", "format": "格式", "founded_on": "成立日期", "fraction": "比例", "fund_balance": "资金余额",
	"gain": "收益", "head": "链头", "holding_platform": "持股平台", "id_masked": "证件号（脱敏）", "in_zone": "注册在经开区",
	"item": "材料", "kind": "类型", "lapse_policy": "到期未转股处理", "lead_name": "项目负责人", "ledger": "台账链头",
	"listing_no": "挂牌编号", "max_stake": "持股比例上限", "method": "方式", "milestone": "里程碑",
	"months_after_signing": "签约后月数", "name": "名称", "new_money": "新增投资", "notice_end": "公示截止",
	"notice_start": "公示开始", "notice_working_days": "公示工作日数", "objection_id": "异议编号", "ok": "校验通过",
	"opens_on": "开始申报日", "original_seq": "原凭证序号", "override_reason": "突破上限理由", "paid_in_capital": "实缴资本",
	"panel_size": "评审组人数", "pass_score": "通过分数", "period_end": "期间截止", "period_start": "期间开始", "postings": "分录行数",
	"price": "价格", "pricing": "定价方式", "proceeds": "回收金额", "programme_id": "申报批次编号", "project_cap": "单项目上限",
	"rate": "利率", "rate_basis": "利率依据", "reason": "原因", "record": "业务单据", "recused": "回避",
	"reference": "凭据号", "registered_capital": "注册资本", "requested_amount": "申请金额", "required_materials": "必交材料",
	"requires_special_audit": "须专项审计", "resolution": "处理意见", "rest": "剩余全部", "return_rate": "年收益率",
	"revenue_min": "收入触发最低金额", "role": "角色", "rows": "行数", "satisfies": "符合条件", "sector": "领域",
	"sectors": "领域", "seed": "随机种子", "sha256": "文件摘要", "share": "占比", "size": "大小（字节）", "sort": "排序",
	"state": "状态", "status": "状态", "terms_template": "协议条款模板", "ties": "同分", "title": "标题",
	"total_budget": "批次预算", "tranche": "期次", "tranches": "拨付安排", "triggers": "转股触发条件", "unit": "单位",
	"units": "单位数", "upheld": "异议成立", "uscc": "统一社会信用代码", "username": "用户名", "value_date": "起息日",
	"version": "版本", "weight": "权重", "what": "内容", "window_years": "转股期限（年）", "year": "年度",
	"years_after_conversion": "转股后年数", "stake": "持股比例", "valuation_cap": "估值上限", "floor_price": "最低价格",
	"from": "起始日期", "to": "截止日期", "event": "事件", "programme": "申报批次", "project": "项目", "after_seq": "起始序号",
	"reverses": "冲销凭证", "memo": "摘要", "date": "日期", "outcome": "结果", "email": "邮箱", "display_name": "姓名",
	"enterprise": "企业", "note": "说明", "comment": "意见", "score": "分数", "total": "合计", "schedule": "安排",
	"tiers": "分档", "within_years": "持有年限", "spread": "加点", "return_basis": "收益基准",
	"appraisal_after_years": "评估年限", "buyer": "受让方", "market_value": "市场价值", "interest": "利息",
	"previous": "原值", "count": "数量", "days": "天数", "file": "文件", "section": "栏目",
}

// detailValues are the codes a detail field holds, in Chinese, by field
// ("" for codes any field may hold).
var detailValues = map[string]map[string]string{
	"": {"csv": "CSV", "xlsx": "XLSX", "pdf": "PDF", "manual": "手动", "approve": "批准", "reject": "退回",
		"disbursement": "拨付", "financing": "完成融资", "revenue": "实现销售收入", "milestone": "其他里程碑",
		"random": "随机抽取", "totp": "动态验证码", "date": "日期", "issue": "事项", "score_sheet": "评分表",
		"trimmed_mean": "去掉最高最低分后平均", "mean": "平均", "open": "未处理", "pending": "待审批", "verified": "已核实",
		"approved": "已批准", "rejected": "已退回", "reversed": "已冲正", "upheld": "成立", "dismissed": "不成立",
		"registered_capital": "注册资本", "shares": "股份", "team": "团队或原股东", "third_party": "第三方"},
	"code": {},
}

func init() {
	add := func(field string, pairs [][2]string) {
		if detailValues[field] == nil {
			detailValues[field] = map[string]string{}
		}
		for _, p := range pairs {
			detailValues[field][p[0]] = p[1]
		}
	}
	add("method", applications.MethodLabels)
	add("lapse_policy", applications.LapseLabels)
	add("return_basis", applications.BasisLabels)
	add("accrual_from", applications.AccrualLabels)
	add("allocation", applications.AllocationLabels)
	add("below_cap", applications.BelowCapLabels)
	for _, c := range applications.DefaultCriteria() {
		detailValues["code"][c.Code] = c.Name
	}
	add("basis", func() (out [][2]string) {
		for k, v := range basisNames {
			out = append(out, [2]string{k, v})
		}
		return out
	}())
}

// detailValue is one stored value as a person reads it.
func detailValue(field string, v any) string {
	switch x := v.(type) {
	case nil:
		return "无"
	case bool:
		if x {
			return "是"
		}
		return "否"
	case json.Number:
		if strings.Contains(string(x), ".") {
			return num(string(x))
		}
		return string(x)
	case string:
		return detailString(field, x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = detailValue(field, e)
		}
		return strings.Join(parts, "、")
	case map[string]any:
		return "（" + detailFields(x) + "）"
	}
	return ""
}

func detailString(field, s string) string {
	if l, ok := detailValues[field][s]; ok {
		return l
	}
	switch field {
	case "state":
		if l := applications.State(s).Label(); l != s {
			return l
		}
	case "role":
		return roleLabel(s)
	case "sector", "sectors":
		if l := applications.Sector(s).Label(); l != s {
			return l
		}
	case "item", "required_materials":
		if l := applications.Material(s).Label(); l != s && l != "" {
			return l
		}
	case "account":
		if k, err := ledger.ParseAccountKey(s); err == nil {
			return subAccountText(nil, k)
		}
	case "record":
		if r, ok := postgres.ParseRecordRef(s); ok {
			return postgres.RecordText(r)
		}
	}
	if l, ok := detailValues[""][s]; ok {
		return l
	}
	if _, err := json.Number(s).Float64(); err == nil && strings.Contains(s, ".") {
		return num(s)
	}
	return s
}

// detailFields writes an object's fields in key order.
func detailFields(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// In key order, but before just ahead of after.
	rank := func(k string) string {
		if k == "before" {
			return "after"
		}
		return k
	}
	sort.Slice(keys, func(i, j int) bool {
		if a, b := rank(keys[i]), rank(keys[j]); a != b {
			return a < b
		}
		return keys[i] == "before"
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		name, ok := detailKeys[k]
		if !ok {
			name = k
		}
		parts = append(parts, name+"："+detailValue(k, m[k]))
	}
	return strings.Join(parts, "；")
}

// AuditDetail is an audit record's detail as a Chinese field list ("" for
// none).
func AuditDetail(detail []byte) string {
	d := json.NewDecoder(bytes.NewReader(detail))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return string(detail)
	}
	switch x := v.(type) {
	case nil:
		return ""
	case map[string]any:
		return detailFields(x)
	}
	return detailValue("", v)
}

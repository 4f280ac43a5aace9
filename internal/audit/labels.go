package audit

import (
	"sort"
	"strings"
)

// eventLabels names the events the application writes, in Chinese, for
// the pages that show an audit trail; the stored name stays the stable,
// filterable key.
var eventLabels = map[string]string{
	"access_refused":          "越权访问被拒绝",
	"account_locked":          "账号被锁定",
	"agreement_sign":          "投资协议签署",
	"application_create":      "创建申报",
	"application_liaison":     "指定对接人",
	"application_transition":  "申报状态变更",
	"application_update":      "修改申报",
	"appropriation_approved":  "财政拨入审批通过",
	"appropriation_recorded":  "登记财政拨入",
	"audit_verify":            "审计日志校验",
	"blobs_sweep":             "清理文件存储",
	"calendar_set":            "设置节假日",
	"conflict_declaration":    "专家利益冲突声明",
	"conversion_approve":      "转股审批",
	"conversion_prepare":      "拟定转股方案",
	"conversion_registration": "工商变更登记",
	"crypto_recorded":         "选定密码算法",
	"csrf_refused":            "请求来源校验未通过",
	"decision_approve":        "资助决定审批",
	"decision_prepare":        "拟定资助决定",
	"decision_send_back":      "资助决定退回",
	"disbursement_approved":   "拨付审批通过",
	"disbursement_recorded":   "登记拨付",
	"document_upload":         "上传材料",
	"document_view":           "查看敏感材料",
	"document_view_refused":   "查看敏感材料被拒绝",
	"ending_approve":          "结题/追回审批",
	"ending_prepare":          "拟定结题/追回方案",
	"enterprise_create":       "创建企业",
	"enterprise_register":     "企业注册",
	"exit_approve":            "退出审批",
	"exit_prepare":            "拟定退出方案",
	"expert_profile":          "专家信息维护",
	"email_settings":          "修改邮件通知设置",
	"export":                  "导出数据",
	"ledger_verify":           "台账校验",
	"login":                   "登录",
	"login_failed":            "登录失败",
	"login_refused_disabled":  "停用账号登录被拒绝",
	"login_refused_locked":    "锁定账号登录被拒绝",
	"logout":                  "退出登录",
	"maker_checker_refused":   "经办人自审被拒绝",
	"material_review":         "材料审查",
	"material_review_all":     "材料全部通过",
	"milestone_confirmed":     "确认里程碑",
	"notice_closed":           "公示期满",
	"objection_record":        "登记公示异议",
	"objection_resolve":       "处理公示异议",
	"objection_propose":       "拟定公示异议处理意见",
	"objection_approve":       "批准公示异议处理意见",
	"objection_send_back":     "退回公示异议处理意见",
	"panel_assign":            "指定评审专家",
	"panel_draw":              "随机抽取专家",
	"precheck_comment":        "预审意见",
	"precheck_requested":      "申请预审",
	"programme_create":        "创建申报批次",
	"programme_reporting":     "设置进展报告",
	"programme_update":        "修改申报批次",
	"programme_rules_update":  "修改申报条件与容亏率",
	"minutes_attach":          "登记决策会议纪要",
	"loss_check":              "容亏率校验",
	"application_admit":       "准予不符合条件的申报",
	"application_funding":     "填写申报条件信息",
	"zone_confirm":            "核实注册地在经开区",
	"progress_report_due":     "进展报告到期",
	"progress_report_review":  "审阅进展报告",
	"progress_report_submit":  "提交进展报告",
	"reversal_approved":       "冲正审批通过",
	"reversal_requested":      "申请冲正",
	"review_submit":           "提交评审意见",
	"synthetic_seed":          "生成演示数据",
	"terms_approve":           "条款变更审批",
	"terms_propose":           "提出条款变更",
	"trigger_report":          "报告转股事项",
	"trigger_verify":          "核实转股事项",
	"user_create":             "创建用户",
	"user_disable":            "停用用户",
	"user_email":              "修改用户邮箱",
	"user_enable":             "启用用户",
	"user_enterprise_bind":    "绑定用户所属企业",
	"user_password_reset":     "重置用户密码",
	"user_role_change":        "变更用户角色",
	"user_update":             "修改用户",
	"ledger_synthetic":        "生成合成分录",

	// issue 16: password life, the second factor, the security admin
	"login_password_accepted":   "登录密码验证通过（待输入动态验证码）",
	"second_factor_failed":      "动态验证码错误",
	"second_factor_enrol":       "启用双因素认证",
	"second_factor_reset":       "重置双因素认证",
	"password_change":           "修改密码",
	"password_change_refused":   "修改密码被拒绝",
	"password_expired":          "密码已过期",
	"sessions_end_others":       "结束其他登录会话",
	"account_unlock":            "解锁账号",
	"security_policy_set":       "设置安全策略",
	"enterprise_verify":         "企业注册信息核验通过",
	"enterprise_verify_refused": "企业注册信息核验不予通过",
	"ledger_totals_rebuilt":     "重建台账汇总",
	"chain_anchor":              "签发链头锚定",

	// issue 18: the trustee
	"user_platform_change": "变更用户所属受托管理机构",
	"exit_receipt_record":  "登记退出回款",
}

// recordLabels names the objects events are about, and the records of the
// money and proposal events built from a record type (see EventLabel).
var recordLabels = map[string]string{
	"appropriation":   "财政拨入",
	"disbursement":    "拨付",
	"reversal":        "冲正申请",
	"conversion":      "转股方案",
	"exit":            "退出方案",
	"exit_receipt":    "退出回款",
	"ending":          "结题/追回方案",
	"terms":           "条款变更",
	"application":     "申报",
	"calendar":        "节假日",
	"document":        "材料",
	"enterprise":      "企业",
	"programme":       "申报批次",
	"progress_report": "进展报告",
	"user":            "用户",
	"seed":            "演示数据",
	"installation":    "系统设置",
	// exports (ObjectType is the view exported)
	"audit_log":               "审计日志",
	"equity_register":         "股权台账",
	"ledger_account":          "明细账",
	"ledger_journal":          "日记账",
	"ledger_register":         "项目台账",
	"ledger_trial_balance":    "试算平衡表",
	"watchlist":               "关注清单",
	"ledger_balances":         "科目余额表",
	"conversion_certificates": "转股测算单清单",
	"chain_anchor":            "链头锚定",
	"acceptance":              "结题验收",
	"ledger_period":           "会计期间",
	"rate_entry":              "参考利率",
	"security_policy":         "安全策略",
	"objection":               "公示异议",
	"decision":                "资助决定",
	"expert":                  "专家",
	"expert_profile":          "专家信息",
	"review":                  "评审",
	"panel":                   "评审专家组",
	"trigger_event":           "转股事项",
	"agreement":               "投资协议",
	"minutes":                 "会议纪要",
	"score_sheet":             "评分表",
}

// sectionLabels name the dashboard's and the indicators' sections, for
// their exports' object types ("dashboard_pipeline").
var sectionLabels = map[string]string{
	"budget": "批次预算执行", "pipeline": "项目流程漏斗", "sectors": "领域分布", "watchlist": "关注事项",
	"recycling": "资金循环", "returns": "已退出项目收益", "summary": "指标汇总", "disbursed": "拨付资金",
	"social": "撬动社会资本", "conversion": "转股", "recycled": "回收资金", "enterprises": "企业绩效", "losses": "亏损率",
}

// EventNames are the events the application writes, by their Chinese
// names, for the audit log's filter.
func EventNames() [][2]string {
	out := make([][2]string, 0, len(eventLabels))
	for k, v := range eventLabels {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][1] < out[j][1] })
	return out
}

// ObjectLabel is the Chinese name of an event's object type, or the type
// itself when unknown.
func ObjectLabel(objectType string) string {
	if l, ok := recordLabels[objectType]; ok {
		return l
	}
	for prefix, view := range map[string]string{"dashboard_": "看板", "indicators_": "绩效指标"} {
		if section, ok := strings.CutPrefix(objectType, prefix); ok {
			if l, ok := sectionLabels[section]; ok {
				section = l
			}
			return view + "（" + section + "）"
		}
	}
	return objectType
}

// EventLabel is the Chinese name of audit event name, or the name itself
// when it is not one the application writes.
func EventLabel(name string) string {
	if l, ok := eventLabels[name]; ok {
		return l
	}
	for suffix, action := range map[string]string{"_rejected": "退回", "_reject": "退回", "_reversed": "已冲正", "_approve": "审批"} {
		if record, ok := strings.CutSuffix(name, suffix); ok {
			if r, ok := recordLabels[record]; ok {
				return r + action
			}
		}
	}
	return name
}

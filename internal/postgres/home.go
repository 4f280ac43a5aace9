package postgres

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/auth"
	"ite/internal/day"
)

// The to-do lists of each role's home page: what waits for this user, oldest
// first, each item linking to the page where it is done. Every list is one
// todoQuery below; CountToDo counts all of a user's lists in ONE statement
// (the navigation shows the total on every page), ListToDo reads all their
// rows in one more.

// ToDoKind names one to-do list.
type ToDoKind string

// ToDoItem is one thing to do.
type ToDoItem struct {
	Kind   ToDoKind
	ID     int64 // the record's ID (the application's for application lists)
	Title  string
	Detail string
	Since  time.Time // waiting since
	Due    time.Time // a deadline, zero when none applies
	Link   string
	Amount decimal.NullDecimal
	Maker  string // who prepared it (approvers' lists)
}

// ToDoList is one list with its length; Items holds at most ToDoListMax of
// them, the oldest.
type ToDoList struct {
	Kind   ToDoKind
	Label  string
	Count  int
	Capped bool // the list is longer than Count: a part reached ToDoCountCap
	Items  []ToDoItem
	// More is the queue filtered to the state of the list's applications,
	// for a list longer than its Items; empty where the list is not one
	// state. The queue shows every application in that state.
	More string
}

// todoMore are the lists whose applications are those of one state: the
// queue with that state filter shows them all.
var todoMore = map[ToDoKind]string{
	"submitted": "/applications?state=submitted", "reviewed": "/applications?state=reviewed",
	"notice_ended": "/applications?state=approved", "conversion_due": "/applications?state=conversion_due",
	"lapsed": "/applications?state=lapsed", "recovery": "/applications?state=recovery",
}

// ToDoListMax bounds the rows a list shows on the home page; Count is the
// whole list's length, and a longer list links to the queue (More). Twenty
// rows is what a glance takes in; fifty made the staff home page of a
// 100,000-application zone read 250 rows (docs/PERFORMANCE.md).
const ToDoListMax = 20

// ToDoCountCap bounds what one list part counts, so the navigation's count
// costs the same with a backlog of 20,000 submissions as with 20: nobody
// works through more than a few hundred items from a badge ("200+"), and
// the queue counts the rest.
const ToDoCountCap = 200

// ToDo is all of a user's lists, in the order the home page shows them.
type ToDo struct {
	Lists []ToDoList
}

// Total is the number of things to do.
func (t ToDo) Total() int {
	n := 0
	for _, l := range t.Lists {
		n += l.Count
	}
	return n
}

// todoQuery is one list, or one part of a list (several parts with the same
// kind add up: a staff member's sent-back records are in six tables). from
// is the FROM clause with the tables the filter needs, where the filter;
// joins adds what only the shown columns need, so the count never pays
// for it. cols are id, title, detail, since, due, link, amount, maker.
// Parameters: $1 the user, $2 the user's enterprise (0 for none), $3 today
// in China (date), $4 now.
type todoQuery struct {
	kind  ToDoKind
	from  string
	joins string
	where string
	cols  string
}

// mine: an application staff must act on is the liaison's, or every staff
// member's while it has none (as its notifications). todo splits a part
// that says mine into one for each side of the OR, so that each is an
// index range of applications_todo_idx (state, liaison_id,
// state_changed_at, id): counted from the index alone and read oldest
// first, stopping at the limit.
const mine = `{{mine}}`

var mineSides = []string{`a.liaison_id = $1`, `a.liaison_id IS NULL`}

const appLink = `'/applications/' || a.id`

// myPlatform is the signed-in trustee's holding platform.
const myPlatform = `(SELECT mu.platform_uscc FROM users mu WHERE mu.id = $1)`

var todoLabels = map[ToDoKind]string{}

func todo(kind ToDoKind, label string, qs ...todoQuery) []todoQuery {
	todoLabels[kind] = label
	var out []todoQuery
	for _, q := range qs {
		q.kind = kind
		if !strings.Contains(q.where, mine) {
			out = append(out, q)
			continue
		}
		for _, side := range mineSides {
			q := q
			q.where = strings.ReplaceAll(q.where, mine, side)
			out = append(out, q)
		}
	}
	return out
}

func cat(parts ...[]todoQuery) []todoQuery {
	var out []todoQuery
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

const entName = ` JOIN enterprises e ON e.id = a.enterprise_id`

// noneSince is a record of table (alias x) with no later one of the same
// application: a sent-back record not yet prepared again.
func noneSince(table, same string) string {
	return `NOT EXISTS (SELECT 1 FROM ` + table + ` y WHERE y.` + same + ` = x.` + same + ` AND y.id > x.id)`
}

func sentBack(table, what, link string) todoQuery {
	return todoQuery{from: table + ` x JOIN applications a ON a.id = x.application_id`,
		where: `x.status = 'rejected' AND x.prepared_by = $1 AND ` + noneSince(table, "application_id"),
		cols:  `x.id, a.title, '` + what + `被审批人退回，退回理由见项目页的审批记录', x.checked_at, NULL, ` + link + `, NULL, ''`}
}

var todoByRole = map[applications.Role][]todoQuery{
	applications.RoleStaff: cat(
		todo("precheck", "企业申请预审", todoQuery{from: `applications a`, joins: entName,
			where: `a.precheck_asked_at IS NOT NULL AND a.state IN ('draft','returned') AND ` + mine,
			cols:  `a.id, a.title, e.name, a.precheck_asked_at, NULL, ` + appLink + ` || '#comments', a.requested_amount, ''`}),
		// Information this staff member asked an enterprise for: theirs to
		// chase until the enterprise answers (then it leaves both lists).
		todo("info_open", "待企业答复的补充信息要求", todoQuery{from: `info_requests x JOIN applications a ON a.id = x.application_id`,
			joins: entName, where: `x.status = 'open' AND x.asked_by = $1`,
			cols: `x.id, a.title, e.name || '：' || x.body, x.asked_at, x.due_on, ` + appLink + ` || '#info', NULL, ''`}),
		todo("submitted", "待形式审查（含补正后重新提交）", todoQuery{from: `applications a`, joins: entName,
			where: `a.state = 'submitted' AND ` + mine,
			cols: `a.id, a.title, e.name || COALESCE((SELECT '（补正后重新提交）' FROM application_transitions t WHERE t.application_id = a.id AND t.from_state = 'returned' LIMIT 1), ''),
				a.state_changed_at, NULL, ` + appLink + ` || '#checklist', a.requested_amount, ''`}),
		// Two parts, each cheap with an index: applications with no panel
		// yet, and recusals not yet replaced (few: a partial index).
		todo("panel", "待抽取或补抽评审专家",
			todoQuery{from: `applications a`, joins: entName,
				// NOT IN, not NOT EXISTS: one hashed pass over the
				// assignments instead of a probe per application under review
				// (1.1 s cold over 23,000 of them, docs/PERFORMANCE.md).
				where: `a.state = 'under_review' AND ` + mine + ` AND a.id NOT IN (SELECT x.application_id FROM panel_assignments x)`,
				cols:  `a.id, a.title, e.name || '：尚未抽取专家', a.state_changed_at, NULL, ` + appLink + ` || '#panel', NULL, ''`},
			todoQuery{from: `panel_assignments r JOIN applications a ON a.id = r.application_id JOIN programmes p ON p.id = a.programme_id`,
				where: `r.status = 'recused' AND a.state = 'under_review' AND ` + mine + `
					AND r.id = (SELECT max(y.id) FROM panel_assignments y WHERE y.application_id = a.id AND y.status = 'recused')
					AND (SELECT count(*) FROM panel_assignments x WHERE x.application_id = a.id AND x.status <> 'recused') < p.panel_size`,
				cols: `a.id, a.title, '专家回避，需补抽（现有 ' || (SELECT count(*) FROM panel_assignments x WHERE x.application_id = a.id AND x.status <> 'recused') || '/' || p.panel_size || '）',
					r.declared_at, NULL, ` + appLink + ` || '#panel', NULL, ''`}),
		// Open reviews past their deadline (panel_assignments_open_due_idx):
		// the liaison chases the expert or draws another after a recusal.
		todo("review_overdue", "专家评审逾期未完成", todoQuery{from: `panel_assignments x JOIN applications a ON a.id = x.application_id`,
			joins: ` JOIN users u ON u.id = x.expert_id`,
			where: `x.status IN ('assigned','declared') AND x.due_on IS NOT NULL AND x.due_on < $3 AND a.state = 'under_review' AND ` + mine,
			cols: `a.id, a.title, u.display_name || CASE x.status WHEN 'assigned' THEN '：尚未声明利益冲突' ELSE '：尚未提交评分' END,
				x.due_on::timestamptz, x.due_on, ` + appLink + ` || '#panel', NULL, ''`}),
		todo("reviewed", "评审完成，待拟定立项决定", todoQuery{from: `applications a`, joins: entName,
			// a decision sent back is its maker's (sent_back below)
			where: `a.state = 'reviewed' AND ` + mine + ` AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.application_id = a.id AND d.status IN ('pending','sent_back'))`,
			cols:  `a.id, a.title, e.name, a.state_changed_at, NULL, ` + appLink + ` || '#decisions', a.requested_amount, ''`}),
		todo("sent_back", "被审批人退回的事项",
			todoQuery{from: `decisions x JOIN applications a ON a.id = x.application_id`,
				where: `x.status = 'sent_back' AND x.prepared_by = $1 AND a.state = 'reviewed' AND ` + noneSince("decisions", "application_id"),
				cols:  `x.id, a.title, '立项决定被退回：' || x.check_comment, x.checked_at, NULL, ` + appLink + ` || '#decisions', x.amount, ''`},
			todoQuery{from: `disbursements x JOIN applications a ON a.id = x.application_id`,
				where: `x.status = 'rejected' AND x.prepared_by = $1 AND NOT EXISTS (SELECT 1 FROM disbursements y WHERE y.application_id = x.application_id AND y.tranche = x.tranche AND y.id > x.id)`,
				cols:  `x.id, a.title, '拨付被退回：' || x.check_comment, x.checked_at, NULL, '/disbursements/' || x.id, x.amount, ''`},
			todoQuery{from: `appropriations x JOIN programmes p ON p.id = x.programme_id`,
				where: `x.status = 'rejected' AND x.prepared_by = $1 AND ` + noneSince("appropriations", "programme_id"),
				cols:  `x.id, p.name, '财政拨入被退回：' || x.check_comment, x.checked_at, NULL, '/ledger/appropriations/' || x.id, x.amount, ''`},
			todoQuery{from: `reversals x`,
				where: `x.status = 'rejected' AND x.prepared_by = $1 AND ` + noneSince("reversals", "original_seq"),
				cols:  `x.id, '第 ' || x.original_seq || ' 号凭证的冲正申请', '冲正申请被退回：' || x.check_comment, x.checked_at, NULL, '/ledger/reversals/' || x.id, NULL, ''`},
			sentBack("conversions", "转股方案", appLink+` || '/equity'`),
			sentBack("exits", "退出方案", appLink+` || '/equity'`),
			sentBack("endings", "结题、追回或核销", appLink+` || '/equity'`),
			todoQuery{from: `objections x JOIN applications a ON a.id = x.application_id`,
				where: `x.status = 'open' AND x.proposed_by = $1 AND x.checked_by IS NOT NULL AND a.state = 'approved'`,
				cols:  `a.id, a.title, '异议处理意见被退回：' || x.check_comment, x.checked_at, NULL, ` + appLink + ` || '#notice', NULL, ''`}),
		todo("notice_ended", "公示期满，待签订投资协议", todoQuery{from: `applications a`, joins: entName,
			where: `a.state = 'approved' AND a.notice_closed_at IS NOT NULL AND ` + mine,
			cols:  `a.id, a.title, e.name, a.notice_closed_at, NULL, ` + appLink + ` || '/agreement', a.approved_amount, ''`}),
		// Signed: the first tranche is staff's to record (later tranches
		// follow milestones and reports, on the disbursement plan).
		todo("contracted", "已签约，待登记首笔拨付", todoQuery{from: `applications a`, joins: entName,
			where: `a.state = 'contracted' AND ` + mine + ` AND NOT EXISTS (SELECT 1 FROM disbursements d WHERE d.application_id = a.id AND d.status IN ('pending','approved'))`,
			cols:  `a.id, a.title, e.name, a.state_changed_at, NULL, ` + appLink + ` || '#disbursement-section', a.approved_amount, ''`}),
		todo("objection", "公示异议待处理", todoQuery{from: `objections x JOIN applications a ON a.id = x.application_id`,
			where: `x.status = 'open' AND x.checked_by IS NULL AND a.state = 'approved' AND ` + mine,
			cols:  `a.id, a.title, x.body, x.recorded_at, NULL, ` + appLink + ` || '#notice', NULL, ''`}),
		todo("trigger", "企业报告的转股事项待核实", todoQuery{from: `trigger_events x JOIN applications a ON a.id = x.application_id`,
			where: `x.status = 'reported' AND ` + mine,
			cols: `x.id, a.title, CASE x.kind WHEN 'financing' THEN '融资' WHEN 'revenue' THEN '营业收入' ELSE '里程碑' END || ' ' || to_char(x.event_date, 'YYYY"年"FMMM"月"FMDD"日"'),
				x.reported_at, NULL, ` + appLink + ` || '/equity', COALESCE(x.new_money, x.amount), ''`}),
		todo("conversion_due", "满足转股条件，待办理转股", todoQuery{from: `applications a`, joins: entName,
			where: `a.state = 'conversion_due' AND ` + mine + ` AND NOT EXISTS (SELECT 1 FROM conversions c WHERE c.application_id = a.id AND c.status = 'pending')`,
			cols:  `a.id, a.title, e.name, a.state_changed_at, NULL, ` + appLink + ` || '/equity', NULL, ''`}),
		// The approved conversion's flash tells staff to record the
		// 工商变更 date; until they do, it stays on their list (the
		// certificate and the holding lack it).
		todo("registration", "转股已批准，待登记工商变更", todoQuery{from: `conversions x JOIN applications a ON a.id = x.application_id`,
			where: `x.status = 'approved' AND x.registration_date IS NULL AND a.state IN ('converted','exiting') AND ` + mine,
			cols:  `a.id, a.title, '转股日 ' || to_char(x.conversion_date, 'YYYY"年"FMMM"月"FMDD"日"') || '，' || x.units || ' 单位', x.checked_at, NULL, ` + appLink + ` || '/equity#conversion', NULL, ''`}),
		todo("exit_planned", "按退出计划到期的退出", todoQuery{
			from: `applications a JOIN conversions c ON c.application_id = a.id AND c.status = 'approved'
				JOIN agreements g ON g.application_id = a.id AND g.status = 'signed'
				CROSS JOIN LATERAL (SELECT (c.conversion_date + make_interval(years => ((g.terms->'exit_schedule'->((SELECT count(*) FROM exits x
					WHERE x.application_id = a.id AND x.status = 'approved')::int))->>'years_after_conversion')::int))::date AS planned) s`,
			where: `a.state IN ('converted','exiting') AND ` + mine + ` AND s.planned <= $3
				AND NOT EXISTS (SELECT 1 FROM exits x WHERE x.application_id = a.id AND x.status = 'pending')`,
			cols: `a.id, a.title, '计划退出日 ' || to_char(s.planned, 'YYYY"年"FMMM"月"FMDD"日"'), s.planned::timestamptz, s.planned, ` + appLink + ` || '/equity', NULL, ''`}),
		todo("report_submitted", "进展报告待验收", todoQuery{from: `progress_reports x JOIN applications a ON a.id = x.application_id`,
			where: `x.status = 'submitted' AND ` + mine,
			cols:  `x.id, a.title, to_char(x.period_start, 'YYYY"年"FMMM"月"FMDD"日"') || ' 至 ' || to_char(x.period_end, 'YYYY"年"FMMM"月"FMDD"日"'), x.submitted_at, NULL, '/reports/' || x.id, NULL, ''`}),
		todo("report_overdue", "进展报告逾期未交", todoQuery{from: `progress_reports x JOIN applications a ON a.id = x.application_id`,
			where: `x.status = 'due' AND x.due_on < $3 AND ` + mine,
			cols:  `x.id, a.title, to_char(x.period_start, 'YYYY"年"FMMM"月"FMDD"日"') || ' 至 ' || to_char(x.period_end, 'YYYY"年"FMMM"月"FMDD"日"'), x.due_on::timestamptz, x.due_on, '/reports/' || x.id, NULL, ''`}),
		todo("lapsed", "转股期限届满，待办理结题、追回或延期", todoQuery{from: `applications a`, joins: entName,
			where: `a.state = 'lapsed' AND ` + mine + ` AND NOT EXISTS (SELECT 1 FROM endings n WHERE n.application_id = a.id AND n.status = 'pending')`,
			cols:  `a.id, a.title, e.name, a.state_changed_at, NULL, ` + appLink + ` || '/equity', NULL, ''`}),
		todo("recovery", "追回中，待登记追回款", todoQuery{from: `applications a`, joins: entName,
			where: `a.state = 'recovery' AND ` + mine + ` AND NOT EXISTS (SELECT 1 FROM endings n WHERE n.application_id = a.id AND n.status = 'pending')`,
			cols:  `a.id, a.title, e.name, a.state_changed_at, NULL, ` + appLink + ` || '/equity', NULL, ''`}),
	),
	applications.RoleApprover: cat(
		todo("approve_decision", "立项决定与超限额例外", todoQuery{from: `decisions x JOIN applications a ON a.id = x.application_id`,
			joins: ` JOIN users u ON u.id = x.prepared_by`, where: `x.status = 'pending' AND x.prepared_by <> $1`,
			cols: `x.id, a.title, CASE WHEN x.kind = 'reject' THEN '不予立项' WHEN x.cap_override THEN '立项（超限额例外）' ELSE '立项' END,
				x.prepared_at, NULL, ` + appLink + ` || '#decisions', x.amount, u.display_name`}),
		todo("approve_appropriation", "财政拨入", todoQuery{from: `appropriations x`,
			joins: ` JOIN programmes p ON p.id = x.programme_id JOIN users u ON u.id = x.prepared_by`, where: `x.status = 'pending' AND x.prepared_by <> $1`,
			cols: `x.id, p.name, x.reference, x.prepared_at, NULL, '/ledger/appropriations/' || x.id, x.amount, u.display_name`}),
		todo("approve_disbursement", "拨付", todoQuery{from: `disbursements x`,
			joins: ` JOIN applications a ON a.id = x.application_id JOIN users u ON u.id = x.prepared_by`, where: `x.status = 'pending' AND x.prepared_by <> $1`,
			cols: `x.id, a.title, '第 ' || x.tranche || ' 期', x.prepared_at, NULL, '/disbursements/' || x.id, x.amount, u.display_name`}),
		todo("approve_reversal", "冲正", todoQuery{from: `reversals x`,
			joins: ` JOIN users u ON u.id = x.prepared_by`, where: `x.status = 'pending' AND x.prepared_by <> $1`,
			cols: `x.id, '第 ' || x.original_seq || ' 号凭证', x.reason, x.prepared_at, NULL, '/ledger/reversals/' || x.id, NULL, u.display_name`}),
		todo("approve_conversion", "转股", todoQuery{from: `conversions x`,
			joins: ` JOIN applications a ON a.id = x.application_id JOIN users u ON u.id = x.prepared_by`, where: `x.status = 'pending' AND x.prepared_by <> $1`,
			cols: `x.id, a.title, '转股 ' || x.units || ' 单位', x.prepared_at, NULL, ` + appLink + ` || '/equity', x.principal, u.display_name`}),
		todo("approve_exit", "退出", todoQuery{from: `exits x`,
			joins: ` JOIN applications a ON a.id = x.application_id JOIN users u ON u.id = x.prepared_by`, where: `x.status = 'pending' AND x.prepared_by <> $1`,
			cols: `x.id, a.title, '第 ' || x.tranche_no || ' 期退出', x.prepared_at, NULL, ` + appLink + ` || '/equity', x.proceeds, u.display_name`}),
		todo("approve_ending", "结题、追回与核销", todoQuery{from: `endings x`,
			joins: ` JOIN applications a ON a.id = x.application_id JOIN users u ON u.id = x.prepared_by`, where: `x.status = 'pending' AND x.prepared_by <> $1`,
			cols: `x.id, a.title, CASE x.kind WHEN 'grant' THEN '转为无偿资助结题' WHEN 'repay' THEN '追回资金' WHEN 'receipt' THEN '收到追回款'
				WHEN 'extend' THEN '延长转股期限' ELSE '尽职免责核销' END, x.prepared_at, NULL, ` + appLink + ` || '/equity', x.amount, u.display_name`}),
		todo("approve_terms", "协议条款变更", todoQuery{from: `agreements x`,
			joins: ` JOIN applications a ON a.id = x.application_id JOIN users u ON u.id = x.created_by`,
			where: `x.status = 'draft' AND x.version > 1 AND x.created_by <> $1`,
			cols:  `x.id, a.title, '第 ' || x.version || ' 版：' || x.reason, x.created_at, NULL, ` + appLink + ` || '/agreement', x.amount, u.display_name`}),
		todo("approve_objection", "公示异议成立（不予立项）", todoQuery{from: `objections x`,
			joins: ` JOIN applications a ON a.id = x.application_id JOIN users u ON u.id = x.proposed_by`,
			where: `x.status = 'proposed' AND x.proposed_by <> $1`,
			cols:  `a.id, a.title, x.resolution, x.proposed_at, NULL, ` + appLink + ` || '#notice', a.approved_amount, u.display_name`}),
	),
	applications.RoleEnterprise: cat(
		todo("returned", "材料被退回补正", todoQuery{from: `applications a`,
			where: `a.enterprise_id = $2 AND a.state = 'returned'`,
			cols: `a.id, a.title, COALESCE((SELECT string_agg(r.reason, '；' ORDER BY r.item) FROM material_reviews r
				WHERE r.application_id = a.id AND r.status = 'returned'), ''), a.state_changed_at, NULL, ` + appLink + ` || '#checklist', NULL, ''`}),
		todo("info_request", "经办人员要求补充的信息", todoQuery{from: `info_requests x JOIN applications a ON a.id = x.application_id`,
			where: `a.enterprise_id = $2 AND x.status = 'open'`,
			cols:  `x.id, a.title, x.body, x.asked_at, x.due_on, ` + appLink + ` || '#info', NULL, ''`}),
		todo("comments", "对接人的预审或辅导意见", todoQuery{from: `applications a CROSS JOIN LATERAL (SELECT max(c.at) AS at FROM application_comments c WHERE c.application_id = a.id) c`,
			where: `a.enterprise_id = $2 AND a.state IN ('draft','returned') AND c.at > a.updated_at`,
			cols:  `a.id, a.title, '', c.at, NULL, ` + appLink + ` || '#comments', NULL, ''`}),
		todo("agreement", "待签订投资协议", todoQuery{from: `applications a`,
			where: `a.enterprise_id = $2 AND a.state = 'approved' AND a.notice_closed_at IS NOT NULL`,
			cols:  `a.id, a.title, '公示期满', a.notice_closed_at, NULL, ` + appLink + ` || '/agreement', a.approved_amount, ''`}),
		todo("report", "进展报告待提交或被退回", todoQuery{from: `progress_reports x JOIN applications a ON a.id = x.application_id`,
			where: `a.enterprise_id = $2 AND x.status IN ('due','returned')`,
			cols: `x.id, a.title, CASE WHEN x.status = 'returned' THEN '被退回：' || x.review_comment ELSE to_char(x.period_start, 'YYYY"年"FMMM"月"FMDD"日"') || ' 至 ' || to_char(x.period_end, 'YYYY"年"FMMM"月"FMDD"日"') END,
				COALESCE(x.reviewed_at, x.created_at), x.due_on, '/reports/' || x.id, NULL, ''`}),
	),
	applications.RoleExpert: cat(
		todo("declare", "待声明是否存在利益冲突", todoQuery{from: `panel_assignments x JOIN applications a ON a.id = x.application_id`,
			where: `x.expert_id = $1 AND x.status = 'assigned'`,
			cols:  `a.id, a.title, '', x.assigned_at, x.due_on, '/reviews/' || a.id, NULL, ''`}),
		todo("score", "待评分", todoQuery{from: `panel_assignments x JOIN applications a ON a.id = x.application_id`,
			where: `x.expert_id = $1 AND x.status = 'declared'`,
			cols:  `a.id, a.title, '', x.declared_at, x.due_on, '/reviews/' || a.id, NULL, ''`}),
	),
	applications.RoleAuditor: cat(
		todo("verify_failed", "未通过的完整性校验", todoQuery{from: `audit_log x`,
			where: `x.event IN ('ledger_verify','audit_verify') AND x.outcome <> 'success'
				AND NOT EXISTS (SELECT 1 FROM audit_log y WHERE y.event = x.event AND y.outcome = 'success' AND y.seq > x.seq)`,
			cols: `x.seq, CASE x.event WHEN 'ledger_verify' THEN '台账哈希链' ELSE '审计日志哈希链' END, x.actor_name, x.at, NULL,
				CASE x.event WHEN 'ledger_verify' THEN '/ledger/verify' ELSE '/audit/verify' END, NULL, ''`}),
	),
	// The trustee: its platform's holdings (DOMAIN §2). $1's platform is
	// read in the statement, so the parameters stay those of every role.
	applications.RoleTrustee: cat(
		todo("holding_exit_due", "按退出计划到期的退出", todoQuery{
			from: `applications a JOIN programmes p ON p.id = a.programme_id AND p.holding_platform_uscc = ` + myPlatform + `
				JOIN conversions c ON c.application_id = a.id AND c.status = 'approved'
				JOIN agreements g ON g.application_id = a.id AND g.status = 'signed'
				CROSS JOIN LATERAL (SELECT (c.conversion_date + make_interval(years => ((g.terms->'exit_schedule'->((SELECT count(*) FROM exits x
					WHERE x.application_id = a.id AND x.status = 'approved')::int))->>'years_after_conversion')::int))::date AS planned) s`,
			where: `a.state IN ('converted','exiting') AND s.planned <= $3
				AND NOT EXISTS (SELECT 1 FROM exits x WHERE x.application_id = a.id AND x.status = 'pending')`,
			cols: `a.id, a.title, '计划退出日 ' || to_char(s.planned, 'YYYY"年"FMMM"月"FMDD"日"'), s.planned::timestamptz, s.planned, ` + appLink + ` || '/equity', NULL, ''`}),
		todo("holding_sent_back", "被审批人退回的退出方案", sentBack("exits", "退出方案", appLink+` || '/equity'`)),
		todo("holding_receipt", "已批准的退出，待登记回款", todoQuery{
			from: `exits x JOIN applications a ON a.id = x.application_id
				JOIN programmes p ON p.id = a.programme_id AND p.holding_platform_uscc = ` + myPlatform,
			where: `x.status = 'approved' AND NOT EXISTS (SELECT 1 FROM exit_receipts r WHERE r.exit_id = x.id)`,
			cols:  `x.id, a.title, '第 ' || x.tranche_no || ' 期退出，' || to_char(x.exit_date, 'YYYY"年"FMMM"月"FMDD"日"'), x.checked_at, NULL, ` + appLink + ` || '/equity#exit-' || x.id, x.proceeds, ''`}),
	),
	applications.RoleAdmin: cat(
		todo("locked", "被锁定的账号", todoQuery{from: `users x`,
			where: `x.locked_until > $4`,
			cols:  `x.id, x.display_name || '（' || x.username || '）', '锁定至 ' || to_char(x.locked_until AT TIME ZONE 'Asia/Shanghai', 'YYYY"年"FMMM"月"FMDD"日" HH24:MI'), x.updated_at, NULL, '/admin/users/' || x.id, NULL, ''`}),
	),
}

// todoOrder is each role's kinds in order (the first query of each).
func todoOrder(role applications.Role) []ToDoKind {
	var out []ToDoKind
	for _, q := range todoByRole[role] {
		if len(out) == 0 || out[len(out)-1] != q.kind {
			out = append(out, q.kind)
		}
	}
	return out
}

// ToDoLabel is a list's Chinese name.
func ToDoLabel(k ToDoKind) string { return todoLabels[k] }

func todoArgs(u auth.User, now time.Time) []any {
	return []any{u.ID, u.EnterpriseID, day.Today(now), now}
}

// CountToDo counts each of the user's lists, in one statement: one scalar
// subquery per list part. It runs for the navigation on every page.
func (db *DB) CountToDo(ctx context.Context, u auth.User) (_ ToDo, err error) {
	defer wrap(&err, "CountToDo %d", u.ID)
	out, _, err := db.countToDo(ctx, u)
	return out, err
}

// countToDo is CountToDo, with the count of each part of todoByRole[u.Role].
func (db *DB) countToDo(ctx context.Context, u auth.User) (_ ToDo, parts []int, err error) {
	qs := todoByRole[u.Role]
	out := ToDo{}
	for _, k := range todoOrder(u.Role) {
		out.Lists = append(out.Lists, ToDoList{Kind: k, Label: todoLabels[k], More: todoMore[k]})
	}
	if len(qs) == 0 {
		return out, nil, nil
	}
	counts := make([]int, len(qs))
	dest := make([]any, len(qs))
	for i := range counts {
		dest[i] = &counts[i]
	}
	if err := db.Pool.QueryRow(ctx, todoCountSQL(u.Role), todoArgs(u, db.Now())...).Scan(dest...); err != nil {
		return ToDo{}, nil, err
	}
	for i, q := range qs {
		for j := range out.Lists {
			if out.Lists[j].Kind == q.kind {
				out.Lists[j].Count += counts[i]
				out.Lists[j].Capped = out.Lists[j].Capped || counts[i] == ToDoCountCap
			}
		}
	}
	return out, counts, nil
}

// todoCountSQL is CountToDo's statement for role: one capped count per
// list part.
func todoCountSQL(role applications.Role) string {
	qs := todoByRole[role]
	parts := make([]string, len(qs))
	for i, q := range qs {
		parts[i] = `(SELECT count(*) FROM (SELECT 1 FROM ` + q.from + ` WHERE ` + q.where + ` LIMIT ` + itoa64(ToDoCountCap) + `) s)`
	}
	return `SELECT ` + strings.Join(parts, ", ") + ` WHERE $1::bigint IS NOT NULL AND $2::bigint IS NOT NULL
		AND $3::date IS NOT NULL AND $4::timestamptz IS NOT NULL`
}

// todoListSQL is ListToDo's statement for role: the oldest rows of each
// part in parts (indexes into todoByRole[role]; all of them when nil).
func todoListSQL(role applications.Role, parts []int) string {
	qs := todoByRole[role]
	if parts == nil {
		parts = make([]int, len(qs))
		for i := range parts {
			parts[i] = i
		}
	}
	var sqls []string
	for _, i := range parts {
		q := qs[i]
		// Each part takes its own oldest rows (ORDER BY since, id): with
		// an index in that order it stops after ToDoListMax. The outer
		// casts type the parts' NULLs alike.
		sqls = append(sqls, `SELECT kind, id::bigint, title::text, detail::text, since::timestamptz, due::date, link::text, amount::numeric, maker::text
			FROM (SELECT '`+string(q.kind)+`'::text, `+q.cols+` FROM `+q.from+q.joins+` WHERE `+q.where+
			` ORDER BY 5, 2 LIMIT `+itoa64(ToDoListMax)+`) AS p (kind, id, title, detail, since, due, link, amount, maker)`)
	}
	return `
		SELECT kind, id, title, detail, since, due, link, amount, maker FROM (
			SELECT u.*, row_number() OVER (PARTITION BY kind ORDER BY since, id) AS rn FROM (
				` + strings.Join(sqls, "\n\t\t\t\tUNION ALL ") + `
			) AS u (kind, id, title, detail, since, due, link, amount, maker)
		) ranked WHERE rn <= ` + itoa64(ToDoListMax) + ` AND $1::bigint IS NOT NULL AND $2::bigint IS NOT NULL
			AND $3::date IS NOT NULL AND $4::timestamptz IS NOT NULL
		ORDER BY kind, since, id`
}

// ListToDo returns the user's lists with their counts and their oldest
// ToDoListMax items, in two statements (CountToDo's and one UNION ALL of
// every list's rows).
func (db *DB) ListToDo(ctx context.Context, u auth.User) (_ ToDo, err error) {
	defer wrap(&err, "ListToDo %d", u.ID)
	out, parts, err := db.countToDo(ctx, u)
	if err != nil {
		return out, err
	}
	// Rows only of the parts that counted any: a staff member's home page
	// has some forty parts, most of them empty on any day, and the
	// statement of all of them cost 5 ms to execute and 45 ms to plan
	// over 100,000 applications against about 1 ms for the few that
	// count (docs/PERFORMANCE.md).
	// (pgx prepares each combination's statement once per connection.)
	var nonEmpty []int
	for i, n := range parts {
		if n > 0 {
			nonEmpty = append(nonEmpty, i)
		}
	}
	if len(nonEmpty) == 0 {
		return out, nil
	}
	rows, _ := db.Pool.Query(ctx, todoListSQL(u.Role, nonEmpty), todoArgs(u, db.Now())...)
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ToDoItem, error) {
		var it ToDoItem
		var kind string
		var since, due *time.Time
		err := r.Scan(&kind, &it.ID, &it.Title, &it.Detail, &since, &due, &it.Link, &it.Amount, &it.Maker)
		it.Kind = ToDoKind(kind)
		if since != nil {
			it.Since = *since
		}
		if due != nil {
			it.Due = *due
		}
		return it, err
	})
	if err != nil {
		return ToDo{}, err
	}
	for _, it := range items {
		for j := range out.Lists {
			if out.Lists[j].Kind == it.Kind {
				out.Lists[j].Items = append(out.Lists[j].Items, it)
			}
		}
	}
	return out, nil
}

// todoTableRE finds the relations a statement reads: every name after FROM
// or JOIN, in subqueries too (LATERAL comes along; it names no table).
var todoTableRE = regexp.MustCompile(`(?i)\b(?:FROM|JOIN)\s+([a-z_][a-z0-9_]*)`)

// tablesRead are the tables the statements name, sorted.
func tablesRead(sql ...string) []string {
	var names []string
	for _, m := range todoTableRE.FindAllStringSubmatch(strings.Join(sql, "\n"), -1) {
		if n := strings.ToLower(m[1]); n != "lateral" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// todoTables and todoListTables are ToDoTables and ToDoListTables by
// role, read off the statements once.
var todoTables, todoListTables = func() (count, list map[applications.Role][]string) {
	count, list = map[applications.Role][]string{}, map[applications.Role][]string{}
	for role := range todoByRole {
		count[role] = tablesRead(todoCountSQL(role))
		// ListToDo runs both statements.
		list[role] = tablesRead(todoCountSQL(role), todoListSQL(role, nil))
	}
	return count, list
}()

// ToDoTables are the tables CountToDo reads for role, taken from its
// statement: the server keeps a count until a commit to one of them
// (pagecache.Generations.Only), so a comment, a login or an audit row
// leaves the staff count alone. TestToDoCountReadsOnlyToDoTables checks
// the list against PostgreSQL's table statistics.
func ToDoTables(role applications.Role) []string { return todoTables[role] }

// ToDoListTables are the tables ListToDo reads for role (its counts and
// its rows, with the names the rows show), taken from its statements: the
// server keeps a user's lists until a commit to one of them.
func ToDoListTables(role applications.Role) []string { return todoListTables[role] }

package applications

import "slices"

// Action is one thing a user may do: open a group of pages, or press one
// kind of button. It is the single declaration of who may do what
// (DOMAIN §2, STYLE.md "One permission source"): the route table's access,
// the menu, the buttons a view offers (CanX flags) and the store's own role
// checks are all to be read from it, so they cannot disagree.
//
// Every route maps to exactly one action; every CanX flag of a view is one
// action (plus the record's state, which the domain decides).
type Action string

// The actions, grouped as DOMAIN §2 lists the roles' duties. The string is
// a stable code (logs, audit detail); the comment is the Chinese name.
const (
	// Open to everyone, signed in or not.
	UseSite            Action = "use_site"            // 访问静态资源与健康检查
	SignIn             Action = "sign_in"             // 登录
	RegisterEnterprise Action = "register_enterprise" // 企业注册
	ReadNotices        Action = "read_notices"        // 查看立项公示

	// Any signed-in user.
	SignOut   Action = "sign_out"   // 退出登录
	ViewHome  Action = "view_home"  // 查看首页
	ReadInbox Action = "read_inbox" // 查看消息
	Calculate Action = "calculate"  // 调用转股测算接口

	// Enterprise users (企业用户).
	ManageColleagues    Action = "manage_colleagues"    // 管理本企业账号
	EditApplication     Action = "edit_application"     // 填写、修改申报书并上传材料
	AskPrecheck         Action = "ask_precheck"         // 申请预审
	SubmitApplication   Action = "submit_application"   // 提交申报
	WithdrawApplication Action = "withdraw_application" // 撤回申报
	SubmitReport        Action = "submit_report"        // 报送进展报告

	// Staff (经办人员): liaison, formal review, expert review, preparing.
	DownloadTemplates  Action = "download_templates"  // 下载材料模板
	CommentApplication Action = "comment_application" // 填写审查意见
	AssignLiaison      Action = "assign_liaison"      // 指定对接人
	FormalReview       Action = "formal_review"       // 形式审查（材料审核、审查结论）
	ManageExperts      Action = "manage_experts"      // 管理专家库
	ManagePanel        Action = "manage_panel"        // 抽取、指派评审专家
	HandleObjections   Action = "handle_objections"   // 登记、处理公示异议
	SignAgreement      Action = "sign_agreement"      // 登记协议签订
	ReportEvent        Action = "report_event"        // 报告融资等触发事件
	VerifyEvent        Action = "verify_event"        // 核实触发事件
	RecordRegistration Action = "record_registration" // 登记工商变更
	ConfirmMilestone   Action = "confirm_milestone"   // 确认里程碑
	ReviewReport       Action = "review_report"       // 审核进展报告
	ReadCalendar       Action = "read_calendar"       // 查看节假日安排

	// Maker (经办人员) of a maker–checker pair.
	PrepareDecision     Action = "prepare_decision"     // 拟定立项决策
	ProposeTerms        Action = "propose_terms"        // 拟定协议条款变更
	RecordAppropriation Action = "record_appropriation" // 登记财政拨入
	RecordDisbursement  Action = "record_disbursement"  // 登记拨付
	RequestReversal     Action = "request_reversal"     // 申请冲正
	PrepareConversion   Action = "prepare_conversion"   // 拟定转股方案
	PrepareExit         Action = "prepare_exit"         // 拟定退出方案
	PrepareEnding       Action = "prepare_ending"       // 拟定项目终止方案

	// Checker (审批人) of a maker–checker pair.
	ApproveDecision       Action = "approve_decision"        // 审批立项决策（批准或退回）
	ApproveTerms          Action = "approve_terms"           // 审批协议条款变更
	ApproveAppropriation  Action = "approve_appropriation"   // 审批财政拨入（批准或驳回）
	ApproveDisbursement   Action = "approve_disbursement"    // 审批拨付（批准或驳回）
	ApproveReversal       Action = "approve_reversal"        // 审批冲正（批准或驳回）
	ApproveEquityProposal Action = "approve_equity_proposal" // 审批转股、退出、终止方案（批准或驳回）

	// Experts (评审专家).
	ReviewAsExpert Action = "review_as_expert" // 回避声明与评审打分

	// Reading, by the bureau and the auditor (and the enterprise its own).
	ReadProgrammes     Action = "read_programmes"      // 查看申报批次
	ReadApplications   Action = "read_applications"    // 查看申报、协议、股权页面
	ReadDocuments      Action = "read_documents"       // 查看申报材料文件
	ReadReports        Action = "read_reports"         // 查看进展报告
	UseSimulator       Action = "use_simulator"        // 使用转股测算器
	ExportScores       Action = "export_scores"        // 导出评审打分表
	ReadEquityRegister Action = "read_equity_register" // 查看股权台账与关注清单
	ReadDashboard      Action = "read_dashboard"       // 查看看板
	ReadLedger         Action = "read_ledger"          // 查看台账与拨付记录
	ReadLedgerEntry    Action = "read_ledger_entry"    // 查看记账凭证
	ReadAppropriations Action = "read_appropriations"  // 查看财政拨入
	ReadReversals      Action = "read_reversals"       // 查看冲正
	ReadAuditLog       Action = "read_audit_log"       // 查看、导出审计日志
	VerifyIntegrity    Action = "verify_integrity"     // 校验审计日志与台账的完整性

	// Administration (系统管理员).
	ManageUsers       Action = "manage_users"       // 管理用户与角色
	ManageEnterprises Action = "manage_enterprises" // 管理企业
	ManageProgrammes  Action = "manage_programmes"  // 新建、修改申报批次
	ManageReporting   Action = "manage_reporting"   // 设置进展报告要求
	ManageCalendar    Action = "manage_calendar"    // 设置节假日

	// TODO(DOMAIN §2, trustee 受托管理机构经办): a RoleTrustee will see
	// converted, exiting and ended projects, the equity register and their
	// terms (ReadApplications, ReadEquityRegister limited to those projects),
	// and be a maker for exits: PrepareExit and a new RecordExitReceipt
	// (登记退出回款), checked by the approver like staff's money actions.
	//
	// TODO(DOMAIN §2, security admin 安全管理员): a RoleSecurityAdmin will get
	// new actions ManageSecurityPolicy (设置安全策略：密码规则、双因素、会话限制),
	// UnlockAccount (解锁账号), ResetSecondFactor (重置第二因素) and
	// ReadSecurityEvents (查看安全事件); none of them for the admin or the
	// auditor (三员分立), and no business or money action for the new role.
)

// actionKind says what an action does, for the separation-of-duties rules.
type actionKind int

const (
	kindRead    actionKind = iota // changes nothing
	kindWrite                     // changes records, no maker–checker pair
	kindPrepare                   // the maker's half of a maker–checker pair
	kindApprove                   // the checker's half
)

// grant is one row of the table.
type grant struct {
	kind   actionKind
	money  bool   // moves or commits funds or equity (DOMAIN §2: never the admin)
	public bool   // anyone, signed in or not
	roles  []Role // who may; nil for public and AnyRole
	any    bool   // every signed-in role
}

// Role sets of the table.
var (
	everyone   = grant{public: true} // reads, or signing in
	signedIn   = grant{any: true}    // changes no business record
	bureau     = []Role{RoleStaff, RoleApprover, RoleAuditor}
	withOwners = []Role{RoleEnterprise, RoleStaff, RoleApprover, RoleAuditor}
)

func read(roles ...Role) grant  { return grant{kind: kindRead, roles: roles} }
func write(roles ...Role) grant { return grant{kind: kindWrite, roles: roles} }

// maker and checker are the two halves of a money action: staff prepare,
// an approver who is not the maker checks (DOMAIN §2).
var (
	maker   = grant{kind: kindPrepare, money: true, roles: []Role{RoleStaff}}
	checker = grant{kind: kindApprove, money: true, roles: []Role{RoleApprover}}
)

// permissions is THE table: actions × roles. Changing who may do something
// is a one-line change here.
//
// It reproduces the route table of 2026-12 with two deliberate changes
// (DOMAIN §2: admins cannot move money): RecordAppropriation and
// RequestReversal lose the admin. Staff prepare appropriations like every
// other money record; an approver checks them.
var permissions = map[Action]grant{
	UseSite:            everyone,
	SignIn:             everyone,
	RegisterEnterprise: grant{public: true, kind: kindWrite},
	ReadNotices:        everyone,

	SignOut:   signedIn,
	ViewHome:  signedIn,
	ReadInbox: signedIn,
	Calculate: signedIn,

	ManageColleagues:    write(RoleEnterprise),
	EditApplication:     write(RoleEnterprise),
	AskPrecheck:         write(RoleEnterprise),
	SubmitApplication:   write(RoleEnterprise),
	WithdrawApplication: write(RoleEnterprise),
	SubmitReport:        write(RoleEnterprise),

	DownloadTemplates:  read(RoleEnterprise, RoleStaff),
	CommentApplication: write(RoleStaff),
	AssignLiaison:      write(RoleStaff),
	FormalReview:       write(RoleStaff),
	ManageExperts:      write(RoleStaff, RoleAdmin),
	ManagePanel:        write(RoleStaff),
	HandleObjections:   write(RoleStaff),
	SignAgreement:      write(RoleStaff),
	ReportEvent:        write(RoleEnterprise, RoleStaff),
	VerifyEvent:        write(RoleStaff),
	RecordRegistration: write(RoleStaff),
	ConfirmMilestone:   write(RoleStaff),
	ReviewReport:       write(RoleStaff),
	ReadCalendar:       read(RoleStaff, RoleAdmin),

	PrepareDecision:     maker,
	ProposeTerms:        maker,
	RecordAppropriation: maker, // today also the admin: removed (DOMAIN §2)
	RecordDisbursement:  maker,
	RequestReversal:     maker, // today also the admin, for appropriations: removed with them
	PrepareConversion:   maker,
	PrepareExit:         maker,
	PrepareEnding:       maker,

	ApproveDecision:       checker,
	ApproveTerms:          checker,
	ApproveAppropriation:  checker,
	ApproveDisbursement:   checker,
	ApproveReversal:       checker,
	ApproveEquityProposal: checker,

	ReviewAsExpert: write(RoleExpert),

	ReadProgrammes:     read(RoleStaff, RoleApprover, RoleAuditor, RoleAdmin),
	ReadApplications:   read(withOwners...),
	ReadDocuments:      read(RoleEnterprise, RoleStaff, RoleApprover, RoleAuditor, RoleExpert),
	ReadReports:        read(withOwners...),
	UseSimulator:       read(withOwners...),
	ExportScores:       read(bureau...),
	ReadEquityRegister: read(bureau...),
	ReadDashboard:      read(bureau...),
	ReadLedger:         read(bureau...),
	ReadLedgerEntry:    read(RoleStaff, RoleApprover, RoleAuditor, RoleAdmin),
	ReadAppropriations: read(RoleStaff, RoleApprover, RoleAuditor, RoleAdmin),
	ReadReversals:      read(RoleStaff, RoleApprover, RoleAuditor, RoleAdmin),
	ReadAuditLog:       read(RoleAuditor, RoleAdmin),
	VerifyIntegrity:    read(RoleAuditor, RoleAdmin),

	ManageUsers:       write(RoleAdmin),
	ManageEnterprises: write(RoleAdmin),
	ManageProgrammes:  write(RoleAdmin),
	ManageReporting:   write(RoleAdmin),
	ManageCalendar:    write(RoleAdmin),
}

// actionOrder is the declaration order, for stable listings.
var actionOrder = []Action{
	UseSite, SignIn, RegisterEnterprise, ReadNotices,
	SignOut, ViewHome, ReadInbox, Calculate,
	ManageColleagues, EditApplication, AskPrecheck, SubmitApplication, WithdrawApplication, SubmitReport,
	DownloadTemplates, CommentApplication, AssignLiaison, FormalReview, ManageExperts, ManagePanel,
	HandleObjections, SignAgreement, ReportEvent, VerifyEvent, RecordRegistration, ConfirmMilestone,
	ReviewReport, ReadCalendar,
	PrepareDecision, ProposeTerms, RecordAppropriation, RecordDisbursement, RequestReversal,
	PrepareConversion, PrepareExit, PrepareEnding,
	ApproveDecision, ApproveTerms, ApproveAppropriation, ApproveDisbursement, ApproveReversal, ApproveEquityProposal,
	ReviewAsExpert,
	ReadProgrammes, ReadApplications, ReadDocuments, ReadReports, UseSimulator, ExportScores,
	ReadEquityRegister, ReadDashboard, ReadLedger, ReadLedgerEntry, ReadAppropriations, ReadReversals,
	ReadAuditLog, VerifyIntegrity,
	ManageUsers, ManageEnterprises, ManageProgrammes, ManageReporting, ManageCalendar,
}

// Actions returns every action in declaration order. The slice is a fresh copy.
func Actions() []Action { return slices.Clone(actionOrder) }

// Can reports whether a signed-in user of role r may do a. Public and
// any-role actions are allowed to every valid role; an unknown action or
// role is refused.
func (r Role) Can(a Action) bool {
	g, ok := permissions[a]
	if !ok || !r.Valid() {
		return false
	}
	return g.public || g.any || slices.Contains(g.roles, r)
}

// RolesFor returns the signed-in roles that may do a, in AllRoles order
// (every role for public and any-role actions; none for an unknown action).
func RolesFor(a Action) []Role {
	var out []Role
	for _, r := range allRoles {
		if r.Can(a) {
			out = append(out, r)
		}
	}
	return out
}

// Public reports whether a is open to anyone, signed in or not.
func (a Action) Public() bool { return permissions[a].public }

// AnyRole reports whether a is open to every signed-in user (and is not
// public): such an action states so explicitly rather than by listing the
// roles, so a role added later gets it too.
func (a Action) AnyRole() bool { return permissions[a].any }

// Money reports whether a moves or commits funds or equity: a maker's or
// checker's half of a maker–checker pair. DOMAIN §2: never the admin's.
func (a Action) Money() bool { return permissions[a].money }

// ReadOnly reports whether a changes nothing (the auditor's only kind).
func (a Action) ReadOnly() bool {
	g, ok := permissions[a]
	return ok && g.kind == kindRead
}

// Prepares reports whether a is the maker's half of a maker–checker pair.
func (a Action) Prepares() bool { return permissions[a].kind == kindPrepare }

// Approves reports whether a is the checker's half of a maker–checker pair.
func (a Action) Approves() bool { return permissions[a].kind == kindApprove }

package applications

import "slices"

// Action is one thing a user may do: open a group of pages, or press one
// kind of button. It is the single declaration of who may do what
// (DOMAIN §2, STYLE.md "One permission source"): the route table's access,
// the menu, the buttons a view offers (CanX flags) and the store's own role
// checks are all read from it (Role.Can), so they cannot disagree.
//
// Every route maps to exactly one action; every CanX flag of a view is one
// action (plus the record's state, which the domain decides). The flags
// (actions without their Action prefix), computed as role.Can(action) &&
// the state rule:
//
//	application list  CanCreate → EditApplication
//	application page  CanEdit → EditApplication, its disbursement section → ReadLedger, CanAskPrecheck → AskPrecheck, CanSubmit → SubmitApplication,
//	                  CanWithdraw → WithdrawApplication, CanReview → FormalReview,
//	                  CanComment → CommentApplication, CanAssign → AssignLiaison
//	information asked CanAsk → AskInformation, CanAnswer → AnswerInformation
//	review section    CanDraw → ManagePanel, CanPrepare → PrepareDecision, CanCheck → ApproveDecision,
//	                  CanObject → HandleObjections, CanCheckObjection → ApproveObjection, CanReadPlan (the plan link) → ReadLedger
//	agreement page    CanSign → SignAgreement, CanPropose → ProposeTerms, CanApprove → ApproveTerms
//	equity page       CanReport → ReportEvent, CanVerify → VerifyEvent, CanPrepareConv → PrepareConversion,
//	                  CanRegister → RecordRegistration, CanPrepareExit → PrepareExit,
//	                  EndingKinds (non-empty) → PrepareEnding, CanApprove → ApproveEquityProposal,
//	                  Oversight.CanAttach → AttachMinutes (also the review section's)
//	                  Acceptance.CanRecord → RecordAcceptance
//	application page  CanAdmit → AdmitApplication, CanConfirmZone → FormalReview
//	disbursement plan CanRecord → RecordDisbursement, CanConfirm (milestone form) → ConfirmMilestone
//	money record page CanCheck → ApproveAppropriation or ApproveDisbursement (by the record)
//	appropriations    CanRecord → RecordAppropriation
//	reversals, entry  CanRequest → RequestReversal
//	ledger home       CanVerify → VerifyIntegrity; CanAppropriate is never set (dead)
//	programmes        CanEdit → ManageProgrammes
//	report page       CanSubmit → SubmitReport, CanReview → ReviewReport
//	calendar page     CanSet → ManageCalendar
//	rates page        CanManage (entry and correction forms) → ManageRates
//	user page         keeping one's own admin role → ManageUsers
//	inbox page        CanSettings (the settings link) → SetNotifications
//
// Not actions: ShowVersions, ShowPanel, ReportListView.Enterprise, the
// enterprise's 资金到位 section and the expert's document filter decide what
// a page shows of the data, not what the user may do; the approver's
// default queue filter is a convenience. The role comparisons left in
// internal/server say so where they stand.
type Action string

// The actions, grouped as DOMAIN §2 lists the roles' duties. The string is
// a stable code (logs, audit detail); the comment is the Chinese name. The
// names carry the type, like RoleStaff and StateFunded: the domain's verbs
// and record types (RecordDisbursement, ...) live in this package too.
const (
	// Open to everyone, signed in or not.
	ActionUseSite            Action = "use_site"            // 访问静态资源与健康检查
	ActionSignIn             Action = "sign_in"             // 登录
	ActionRegisterEnterprise Action = "register_enterprise" // 企业注册
	ActionReadNotices        Action = "read_notices"        // 查看立项公示

	// Any signed-in user.
	ActionSignOut   Action = "sign_out"   // 退出登录
	ActionViewHome  Action = "view_home"  // 查看首页
	ActionReadInbox Action = "read_inbox" // 查看消息
	ActionCalculate Action = "calculate"  // 调用转股测算接口

	// Every role some kind of event notifies (enterprise, staff, approver,
	// expert): the auditor changes nothing, the admin is notified of nothing.
	ActionSetNotifications Action = "set_notifications" // 设置通知邮件

	// Enterprise users (企业用户).
	ActionManageColleagues    Action = "manage_colleagues"    // 管理本企业账号
	ActionEditApplication     Action = "edit_application"     // 填写、修改申报书并上传材料
	ActionAskPrecheck         Action = "ask_precheck"         // 申请预审
	ActionSubmitApplication   Action = "submit_application"   // 提交申报
	ActionWithdrawApplication Action = "withdraw_application" // 撤回申报
	ActionSubmitReport        Action = "submit_report"        // 报送进展报告
	ActionAnswerInformation   Action = "answer_information"   // 答复经办人员要求补充的信息

	// Staff (经办人员): liaison, formal review, expert review, preparing.
	ActionDownloadTemplates  Action = "download_templates"  // 下载材料模板
	ActionCommentApplication Action = "comment_application" // 填写审查意见
	ActionAssignLiaison      Action = "assign_liaison"      // 指定对接人
	ActionAskInformation     Action = "ask_information"     // 要求企业补充信息（附答复期限）
	ActionFormalReview       Action = "formal_review"       // 形式审查（材料审核、审查结论）
	ActionAttachMinutes      Action = "attach_minutes"      // 登记决策联席会/管委会会议纪要
	ActionAdmitApplication   Action = "admit_application"   // 准予不符合申报条件的申报（写明理由）
	ActionManageExperts      Action = "manage_experts"      // 管理专家库
	ActionManagePanel        Action = "manage_panel"        // 抽取、指派评审专家
	ActionHandleObjections   Action = "handle_objections"   // 登记、处理公示异议
	ActionSignAgreement      Action = "sign_agreement"      // 登记协议签订
	ActionReportEvent        Action = "report_event"        // 报告融资等触发事件
	ActionVerifyEvent        Action = "verify_event"        // 核实触发事件
	ActionRecordRegistration Action = "record_registration" // 登记工商变更
	ActionConfirmMilestone   Action = "confirm_milestone"   // 确认里程碑
	ActionReviewReport       Action = "review_report"       // 审核进展报告
	ActionRecordAcceptance   Action = "record_acceptance"   // 登记结题验收
	ActionReadCalendar       Action = "read_calendar"       // 查看节假日安排
	ActionClosePeriod        Action = "close_period"        // 结账（按月，试算平衡后）
	ActionReadRates          Action = "read_rates"          // 查看参考利率表

	// Maker (经办人员) of a maker–checker pair.
	ActionPrepareDecision     Action = "prepare_decision"     // 拟定立项决策
	ActionProposeTerms        Action = "propose_terms"        // 拟定协议条款变更
	ActionRecordAppropriation Action = "record_appropriation" // 登记财政拨入
	ActionRecordDisbursement  Action = "record_disbursement"  // 登记拨付
	ActionRequestReversal     Action = "request_reversal"     // 申请冲正
	ActionPrepareConversion   Action = "prepare_conversion"   // 拟定转股方案
	ActionPrepareExit         Action = "prepare_exit"         // 拟定退出方案
	ActionPrepareEnding       Action = "prepare_ending"       // 拟定项目终止方案

	// Checker (审批人) of a maker–checker pair.
	ActionApproveDecision       Action = "approve_decision"        // 审批立项决策（批准或退回）
	ActionApproveTerms          Action = "approve_terms"           // 审批协议条款变更
	ActionApproveAppropriation  Action = "approve_appropriation"   // 审批财政拨入（批准或驳回）
	ActionApproveDisbursement   Action = "approve_disbursement"    // 审批拨付（批准或驳回）
	ActionApproveReversal       Action = "approve_reversal"        // 审批冲正（批准或驳回）
	ActionApproveEquityProposal Action = "approve_equity_proposal" // 审批转股、退出、终止方案（批准或驳回）
	ActionApproveObjection      Action = "approve_objection"       // 审批公示异议成立（不予立项）的处理意见（批准或退回）

	// Experts (评审专家).
	ActionReviewAsExpert Action = "review_as_expert" // 回避声明与评审打分

	// Reading, by the bureau and the auditor (and the enterprise its own).
	ActionReadProgrammes     Action = "read_programmes"      // 查看申报批次
	ActionReadApplications   Action = "read_applications"    // 查看申报、协议、股权页面
	ActionReadDocuments      Action = "read_documents"       // 查看申报材料文件
	ActionReadReports        Action = "read_reports"         // 查看进展报告
	ActionUseSimulator       Action = "use_simulator"        // 使用转股测算器
	ActionExportScores       Action = "export_scores"        // 导出评审打分表
	ActionReadEquityRegister Action = "read_equity_register" // 查看股权台账
	ActionReadDashboard      Action = "read_dashboard"       // 查看看板
	ActionReadIndicators     Action = "read_indicators"      // 查看、导出绩效指标
	ActionReadLedger         Action = "read_ledger"          // 查看台账与拨付记录
	ActionReadLedgerEntry    Action = "read_ledger_entry"    // 查看记账凭证
	ActionReadAppropriations Action = "read_appropriations"  // 查看财政拨入
	ActionReadReversals      Action = "read_reversals"       // 查看冲正
	ActionReadAuditLog       Action = "read_audit_log"       // 查看、导出审计日志
	ActionVerifyIntegrity    Action = "verify_integrity"     // 校验审计日志与台账的完整性

	// Administration (系统管理员).
	ActionManageUsers       Action = "manage_users"       // 管理用户与角色
	ActionManageEnterprises Action = "manage_enterprises" // 管理企业
	ActionManageProgrammes  Action = "manage_programmes"  // 新建、修改申报批次
	ActionManageReporting   Action = "manage_reporting"   // 设置进展报告要求
	ActionManageCalendar    Action = "manage_calendar"    // 设置节假日
	ActionManageRates       Action = "manage_rates"       // 登记、更正参考利率

	// The trustee (受托管理机构经办, DOMAIN §2) reads its platform's projects
	// from conversion on (the route's role here; which projects, the
	// handler's scope check: checkApplicationAccess) and prepares their
	// exits like staff (trusteeMaker); an approver checks them.
	ActionRecordExitReceipt Action = "record_exit_receipt" // 登记退出回款
	ActionReadWatchlist     Action = "read_watchlist"      // 查看关注清单
)

// Security (issue 16, 三员分立). Every signed-in user manages their own
// password, second factor and sessions; the security admin alone sets the
// policy, unlocks accounts, resets second factors and reads the security
// events; none of these is the admin's or the auditor's, and the security
// admin holds no business or money action.
const (
	ActionManageOwnAccount     Action = "manage_own_account"     // 修改本人密码、第二因素与登录会话
	ActionManageSecurityPolicy Action = "manage_security_policy" // 设置安全策略：密码规则、双因素、会话限制
	ActionUnlockAccount        Action = "unlock_account"         // 解锁账号
	ActionResetSecondFactor    Action = "reset_second_factor"    // 重置第二因素
	ActionReadSecurityEvents   Action = "read_security_events"   // 查看安全事件

	// Verified enterprises (issue 16.4): staff check a self-registered
	// enterprise before it may submit.
	ActionVerifyEnterprise Action = "verify_enterprise" // 核验企业注册信息
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
	// holders read a project from its conversion on: the bureau and the
	// platform's trustee (scoped to its platform's projects by the handler).
	holders = []Role{RoleStaff, RoleApprover, RoleAuditor, RoleTrustee}
	// everyReader reads an application's pages: its owner, the bureau and
	// (from conversion on) the platform's trustee.
	everyReader = []Role{RoleEnterprise, RoleStaff, RoleApprover, RoleAuditor, RoleTrustee}
)

func read(roles ...Role) grant  { return grant{kind: kindRead, roles: roles} }
func write(roles ...Role) grant { return grant{kind: kindWrite, roles: roles} }

// maker and checker are the two halves of a money action: staff prepare,
// an approver who is not the maker checks (DOMAIN §2).
var (
	maker   = grant{kind: kindPrepare, money: true, roles: []Role{RoleStaff}}
	checker = grant{kind: kindApprove, money: true, roles: []Role{RoleApprover}}
	// trusteeMaker: an exit is prepared by staff or the platform's trustee
	// (DOMAIN §8), and checked by an approver like every money action.
	trusteeMaker = grant{kind: kindPrepare, money: true, roles: []Role{RoleStaff, RoleTrustee}}
)

// permissions is THE table: actions × roles. Changing who may do something
// is a one-line change here.
//
// Against the route table of 2026-12 it changes, on purpose (issue 12):
//   - DOMAIN §2, admins cannot move money: ActionRecordAppropriation and
//     ActionRequestReversal lose the admin. Staff prepare appropriations like
//     every other money record; an approver checks them. With no money role
//     left, the admin also loses the ledger pages it had only for those
//     (ActionReadLedgerEntry, ActionReadAppropriations, ActionReadReversals):
//     the admin manages users, enterprises and programmes; the auditor reads
//     the ledger.
//   - ActionDownloadTemplates is a read for every reader of the application
//     page (it was the enterprise's and staff's): a template is a blank
//     form, filled only with what that page already shows (enterprise, 信用代码,
//     project, amount), and the page lists it under each material.
var permissions = map[Action]grant{
	ActionUseSite:            everyone,
	ActionSignIn:             everyone,
	ActionRegisterEnterprise: grant{public: true, kind: kindWrite},
	ActionReadNotices:        everyone,

	ActionSignOut:   signedIn,
	ActionViewHome:  signedIn,
	ActionReadInbox: signedIn,
	ActionCalculate: signedIn,

	ActionSetNotifications: write(RoleEnterprise, RoleStaff, RoleApprover, RoleExpert, RoleTrustee),

	ActionManageColleagues:    write(RoleEnterprise),
	ActionEditApplication:     write(RoleEnterprise),
	ActionAskPrecheck:         write(RoleEnterprise),
	ActionSubmitApplication:   write(RoleEnterprise),
	ActionWithdrawApplication: write(RoleEnterprise),
	ActionSubmitReport:        write(RoleEnterprise),
	ActionAnswerInformation:   write(RoleEnterprise),

	ActionDownloadTemplates:  read(everyReader...), // blank forms: every reader of the application page
	ActionCommentApplication: write(RoleStaff),
	ActionAssignLiaison:      write(RoleStaff),
	ActionAskInformation:     write(RoleStaff),
	ActionFormalReview:       write(RoleStaff),
	ActionAttachMinutes:      write(RoleStaff),
	ActionAdmitApplication:   write(RoleStaff),
	ActionManageExperts:      write(RoleStaff, RoleAdmin),
	ActionManagePanel:        write(RoleStaff),
	ActionHandleObjections:   write(RoleStaff),
	ActionSignAgreement:      write(RoleStaff),
	ActionReportEvent:        write(RoleEnterprise, RoleStaff),
	ActionVerifyEvent:        write(RoleStaff),
	ActionRecordRegistration: write(RoleStaff),
	ActionConfirmMilestone:   write(RoleStaff),
	ActionReviewReport:       write(RoleStaff),
	ActionRecordAcceptance:   write(RoleStaff),
	ActionReadCalendar:       read(RoleStaff, RoleAdmin),
	ActionClosePeriod:        write(RoleStaff),
	ActionReadRates:          read(RoleStaff, RoleApprover, RoleAuditor, RoleAdmin),

	ActionPrepareDecision:     maker,
	ActionProposeTerms:        maker,
	ActionRecordAppropriation: maker, // until issue 12 also the admin (DOMAIN §2)
	ActionRecordDisbursement:  maker,
	ActionRequestReversal:     maker, // until issue 12 also the admin, for appropriations
	ActionPrepareConversion:   maker,
	ActionPrepareExit:         trusteeMaker,
	ActionPrepareEnding:       maker,

	ActionApproveDecision:       checker,
	ActionApproveTerms:          checker,
	ActionApproveAppropriation:  checker,
	ActionApproveDisbursement:   checker,
	ActionApproveReversal:       checker,
	ActionApproveEquityProposal: checker,
	ActionApproveObjection:      checker, // upholding an objection ends the project: staff propose, an approver checks

	ActionReviewAsExpert: write(RoleExpert),

	ActionReadProgrammes:     read(RoleStaff, RoleApprover, RoleAuditor, RoleAdmin),
	ActionReadApplications:   read(everyReader...),                                                                // the trustee: its platform's projects from conversion on
	ActionReadDocuments:      read(RoleEnterprise, RoleStaff, RoleApprover, RoleAuditor, RoleExpert, RoleTrustee), // never ID copies or credit reports for experts and trustees (handleDocument)
	ActionReadReports:        read(withOwners...),
	ActionUseSimulator:       read(withOwners...),
	ActionExportScores:       read(bureau...),
	ActionReadEquityRegister: read(holders...), // the trustee: its platform's positions
	ActionReadWatchlist:      read(bureau...),  // pre-conversion matters: not the trustee's
	ActionReadDashboard:      read(bureau...),
	ActionReadIndicators:     read(bureau...),
	ActionReadLedger:         read(bureau...),
	ActionReadLedgerEntry:    read(bureau...), // until issue 12 also the admin, for its reversals
	ActionReadAppropriations: read(bureau...), // likewise
	ActionReadReversals:      read(bureau...), // likewise
	ActionReadAuditLog:       read(RoleAuditor, RoleAdmin),
	ActionVerifyIntegrity:    read(RoleAuditor, RoleAdmin),

	ActionManageUsers:       write(RoleAdmin),
	ActionManageEnterprises: write(RoleAdmin),
	ActionManageProgrammes:  write(RoleAdmin),
	ActionManageReporting:   write(RoleAdmin),
	ActionManageCalendar:    write(RoleAdmin),
	ActionManageRates:       write(RoleAdmin),

	// Security (issue 16): a separate block, kept last.
	ActionManageOwnAccount:     signedIn,
	ActionManageSecurityPolicy: write(RoleSecurityAdmin),
	ActionUnlockAccount:        write(RoleSecurityAdmin),
	ActionResetSecondFactor:    write(RoleSecurityAdmin),
	ActionReadSecurityEvents:   read(RoleSecurityAdmin),
	ActionVerifyEnterprise:     write(RoleStaff),

	ActionRecordExitReceipt: write(RoleStaff, RoleTrustee), // evidence of money the exit's approval already posted
}

// actionOrder is the declaration order, for stable listings.
var actionOrder = []Action{
	ActionUseSite, ActionSignIn, ActionRegisterEnterprise, ActionReadNotices,
	ActionSignOut, ActionViewHome, ActionReadInbox, ActionCalculate,
	ActionSetNotifications,
	ActionManageColleagues, ActionEditApplication, ActionAskPrecheck, ActionSubmitApplication, ActionWithdrawApplication, ActionSubmitReport,
	ActionAnswerInformation,
	ActionDownloadTemplates, ActionCommentApplication, ActionAssignLiaison, ActionAskInformation, ActionFormalReview, ActionManageExperts, ActionManagePanel,
	ActionAttachMinutes, ActionAdmitApplication,
	ActionHandleObjections, ActionSignAgreement, ActionReportEvent, ActionVerifyEvent, ActionRecordRegistration, ActionConfirmMilestone,
	ActionReviewReport, ActionRecordAcceptance, ActionReadCalendar, ActionClosePeriod, ActionReadRates,
	ActionPrepareDecision, ActionProposeTerms, ActionRecordAppropriation, ActionRecordDisbursement, ActionRequestReversal,
	ActionPrepareConversion, ActionPrepareExit, ActionPrepareEnding,
	ActionApproveDecision, ActionApproveTerms, ActionApproveAppropriation, ActionApproveDisbursement, ActionApproveReversal, ActionApproveEquityProposal,
	ActionApproveObjection,
	ActionReviewAsExpert,
	ActionReadProgrammes, ActionReadApplications, ActionReadDocuments, ActionReadReports, ActionUseSimulator, ActionExportScores,
	ActionReadEquityRegister, ActionReadDashboard, ActionReadIndicators, ActionReadLedger, ActionReadLedgerEntry, ActionReadAppropriations, ActionReadReversals,
	ActionReadAuditLog, ActionVerifyIntegrity,
	ActionManageUsers, ActionManageEnterprises, ActionManageProgrammes, ActionManageReporting, ActionManageCalendar, ActionManageRates,
	ActionManageOwnAccount, ActionManageSecurityPolicy, ActionUnlockAccount, ActionResetSecondFactor, ActionReadSecurityEvents,
	ActionVerifyEnterprise,
	ActionRecordExitReceipt, ActionReadWatchlist,
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

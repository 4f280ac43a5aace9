package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
)

// Notification is one inbox item.
type Notification struct {
	ID        int64
	Title     string
	Link      string
	CreatedAt time.Time
	Read      bool
}

// NotifyKind is a kind of event after which someone must act. Every
// notification carries one; a user may turn the email of a kind off
// (SetEmailOptOuts), never the in-app notification.
type NotifyKind string

// The kinds, in the order the settings page lists them.
const (
	NotifyPrecheckAsked   NotifyKind = "precheck_asked"   // → liaison
	NotifySubmitted       NotifyKind = "submitted"        // → liaison
	NotifyPanelRefill     NotifyKind = "panel_refill"     // → liaison
	NotifyReviewsComplete NotifyKind = "reviews_complete" // → liaison
	NotifySentBack        NotifyKind = "sent_back"        // → the record's maker
	NotifyNoticeEnded     NotifyKind = "notice_ended"     // → liaison, enterprise
	NotifyTriggerReported NotifyKind = "trigger_reported" // → liaison
	NotifyConversionDue   NotifyKind = "conversion_due"   // → liaison
	NotifyReportSubmitted NotifyKind = "report_submitted" // → liaison
	NotifyReportOverdue   NotifyKind = "report_overdue"   // → liaison, enterprise
	NotifyLapsed          NotifyKind = "lapsed"           // → liaison
	NotifyRecovery        NotifyKind = "recovery"         // → liaison
	NotifyApproval        NotifyKind = "approval"         // → approvers
	NotifyReturned        NotifyKind = "returned"         // → enterprise
	NotifyPrecheckComment NotifyKind = "precheck_comment" // → enterprise
	NotifyReportDue       NotifyKind = "report_due"       // → enterprise
	NotifyReportReviewed  NotifyKind = "report_reviewed"  // → enterprise
	NotifyOutcome         NotifyKind = "outcome"          // → enterprise
	NotifyPanelAssigned   NotifyKind = "panel_assigned"   // → expert
	NotifyVerification    NotifyKind = "verification"     // → staff: a self-registered enterprise to verify
	NotifySecurity        NotifyKind = "security"         // → the user: their second factor was reset
	NotifyInfoRequested   NotifyKind = "info_requested"   // → enterprise: staff ask for information
	NotifyInfoAnswered    NotifyKind = "info_answered"    // → the asker and the liaison

	// Issue 18: the trustee.
	NotifyExitApproved     NotifyKind = "exit_approved"     // → the exit's maker
	NotifyHoldingConverted NotifyKind = "holding_converted" // → the programme's platform's trustees
)

var notifyKinds = []struct {
	kind  NotifyKind
	label string
	roles []applications.Role
}{
	{NotifyPrecheckAsked, "企业申请预审", staffOnly},
	{NotifySubmitted, "申报提交或补正后重新提交，待形式审查", staffOnly},
	{NotifyPanelRefill, "专家回避，需补抽专家", staffOnly},
	{NotifyReviewsComplete, "专家评审完成，待拟定立项决定", staffOnly},
	{NotifySentBack, "本人经办的事项被审批人退回", []applications.Role{applications.RoleStaff, applications.RoleTrustee}},
	{NotifyNoticeEnded, "公示期满，待签订投资协议", []applications.Role{applications.RoleStaff, applications.RoleEnterprise}},
	{NotifyTriggerReported, "企业报告转股事项，待核实", staffOnly},
	{NotifyConversionDue, "满足转股条件，待办理转股", staffOnly},
	{NotifyReportSubmitted, "进展报告已提交，待验收", staffOnly},
	{NotifyReportOverdue, "进展报告逾期未交", []applications.Role{applications.RoleStaff, applications.RoleEnterprise}},
	{NotifyLapsed, "转股期限届满，待办理结题、追回或延期", staffOnly},
	{NotifyRecovery, "项目进入追回程序，待登记追回款", staffOnly},
	{NotifyApproval, "有事项待审批", []applications.Role{applications.RoleApprover}},
	{NotifyReturned, "申报材料被退回补正", []applications.Role{applications.RoleEnterprise}},
	{NotifyPrecheckComment, "对接人给出预审或辅导意见", []applications.Role{applications.RoleEnterprise}},
	{NotifyReportDue, "进展报告待提交", []applications.Role{applications.RoleEnterprise}},
	{NotifyReportReviewed, "进展报告验收结果（通过或退回）", []applications.Role{applications.RoleEnterprise}},
	{NotifyOutcome, "项目结果（立项、不予立项、签约、转股等）", []applications.Role{applications.RoleEnterprise}},
	{NotifyPanelAssigned, "被指定为评审专家，待声明并打分", []applications.Role{applications.RoleExpert}},
	{NotifyVerification, "新注册企业待核验", staffOnly},
	{NotifyInfoRequested, "经办人员要求补充信息", []applications.Role{applications.RoleEnterprise}},
	{NotifyInfoAnswered, "企业答复了要求补充的信息", staffOnly},
	{NotifySecurity, "本人账号安全事项（如双因素认证被重置）", []applications.Role{applications.RoleEnterprise, applications.RoleStaff,
		applications.RoleApprover, applications.RoleExpert, applications.RoleTrustee}},
	{NotifyExitApproved, "本人拟定的退出方案已批准，待登记回款", []applications.Role{applications.RoleStaff, applications.RoleTrustee}},
	{NotifyHoldingConverted, "本机构受托持有的项目完成转股", []applications.Role{applications.RoleTrustee}},
}

var staffOnly = []applications.Role{applications.RoleStaff}

// Label is the kind's Chinese name.
func (k NotifyKind) Label() string {
	for _, n := range notifyKinds {
		if n.kind == k {
			return n.label
		}
	}
	return string(k)
}

// NotifyKindsFor lists the kinds a user of role can receive, in order.
func NotifyKindsFor(role applications.Role) []NotifyKind {
	var out []NotifyKind
	for _, n := range notifyKinds {
		if slices.Contains(n.roles, role) {
			out = append(out, n.kind)
		}
	}
	return out
}

// AllNotifyKinds lists every kind, in order.
func AllNotifyKinds() []NotifyKind {
	out := make([]NotifyKind, len(notifyKinds))
	for i, n := range notifyKinds {
		out[i] = n.kind
	}
	return out
}

// notify puts an item in a user's inbox, inside the caller's transaction so
// the event and its notice commit together (and its email, see
// insertNotifications).
func notify(ctx context.Context, tx pgx.Tx, now time.Time, kind NotifyKind, userID int64, title, link string) error {
	_, err := insertNotifications(ctx, tx, `SELECT $1::bigint, $2::text, $3::text, $4::timestamptz, $5::text`, userID, title, link, now, string(kind))
	return err
}

// notifyRole notifies every active user of a role.
func notifyRole(ctx context.Context, tx pgx.Tx, now time.Time, kind NotifyKind, role applications.Role, title, link string) error {
	_, err := insertNotifications(ctx, tx, `SELECT id, $2::text, $3::text, $4::timestamptz, $5::text FROM users WHERE role = $1 AND NOT disabled`,
		string(role), title, link, now, string(kind))
	return err
}

// notifyWhoMay notifies, with kind, every active user whose role may do
// action a (e.g. all who may approve a decision): who that is, is read from
// the permission table (applications.RolesFor), not written here; the kind
// is what the recipient may turn the email of off.
func notifyWhoMay(ctx context.Context, tx pgx.Tx, now time.Time, kind NotifyKind, a applications.Action, title, link string) error {
	roles := []string{}
	for _, r := range applications.RolesFor(a) {
		roles = append(roles, string(r))
	}
	_, err := insertNotifications(ctx, tx, `SELECT id, $2::text, $3::text, $4::timestamptz, $5::text FROM users WHERE role = ANY($1) AND NOT disabled`,
		roles, title, link, now, string(kind))
	return err
}

// notifyPlatform notifies the trustees of the application's programme's
// holding platform (DOMAIN §2). link "" is the application's equity page.
func notifyPlatform(ctx context.Context, tx pgx.Tx, now time.Time, kind NotifyKind, appID int64, title, link string) error {
	if link == "" {
		link = "/applications/" + itoa64(appID) + "/equity"
	}
	_, err := insertNotifications(ctx, tx, `SELECT u.id, $2::text, $3::text, $4::timestamptz, $5::text
		FROM applications a JOIN programmes p ON p.id = a.programme_id
		JOIN users u ON u.role = 'trustee' AND u.platform_uscc = p.holding_platform_uscc
		WHERE a.id = $1 AND NOT u.disabled`, appID, title, link, now, string(kind))
	return err
}

// notifyLiaison notifies an application's liaison, or all staff when none
// is assigned (or the liaison's account is disabled). link "" is the
// application's page.
func notifyLiaison(ctx context.Context, tx pgx.Tx, now time.Time, kind NotifyKind, appID int64, title, link string) error {
	if link == "" {
		link = "/applications/" + itoa64(appID)
	}
	n, err := insertNotifications(ctx, tx, `SELECT a.liaison_id, $2::text, $3::text, $4::timestamptz, $5::text
		FROM applications a JOIN users u ON u.id = a.liaison_id WHERE a.id = $1 AND NOT u.disabled`, appID, title, link, now, string(kind))
	if err != nil || n > 0 {
		return err
	}
	return notifyRole(ctx, tx, now, kind, applications.RoleStaff, title, link)
}

// notifyEnterprise notifies every active user of the application's
// enterprise. link "" is the application's page.
func notifyEnterprise(ctx context.Context, tx pgx.Tx, now time.Time, kind NotifyKind, appID int64, title, link string) error {
	if link == "" {
		link = "/applications/" + itoa64(appID)
	}
	_, err := insertNotifications(ctx, tx, `SELECT u.id, $2::text, $3::text, $4::timestamptz, $5::text
		FROM users u JOIN applications a ON a.enterprise_id = u.enterprise_id
		WHERE a.id = $1 AND NOT u.disabled`, appID, title, link, now, string(kind))
	return err
}

// insertNotifications inserts the inbox items that recipients (a SELECT of
// user_id, title, link, created_at, kind) yields and, in the same statement
// and so the same transaction, one email_outbox row for each recipient who
// has an email address, is not disabled and has not turned the email of
// that kind off: the email is sent if and only if the event commits. It
// returns how many inbox items it created.
func insertNotifications(ctx context.Context, tx pgx.Tx, recipients string, args ...any) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `
		WITH n AS (
			INSERT INTO notifications (user_id, title, link, created_at, kind) `+recipients+`
			RETURNING id, user_id, title, link, created_at, kind
		), m AS (
			INSERT INTO email_outbox (notification_id, user_id, to_address, subject, body, link, created_at, next_attempt_at)
			SELECT n.id, u.id, u.email, n.title, u.display_name || E'，您好：\n\n' || n.title, n.link, n.created_at, n.created_at
			FROM n JOIN users u ON u.id = n.user_id
			WHERE u.email IS NOT NULL AND NOT u.disabled
			  AND NOT EXISTS (SELECT 1 FROM email_opt_outs x WHERE x.user_id = u.id AND x.kind = n.kind)
		)
		SELECT count(*) FROM n`, args...).Scan(&n)
	return n, err
}

// ListNotifications returns a user's inbox, unread first, newest first.
func (db *DB) ListNotifications(ctx context.Context, userID int64) (_ []Notification, err error) {
	defer wrap(&err, "ListNotifications %d", userID)
	rows, _ := db.Pool.Query(ctx, `SELECT id, title, link, created_at, read_at IS NOT NULL FROM notifications
		WHERE user_id = $1 ORDER BY read_at IS NOT NULL, id DESC LIMIT 200`, userID)
	ns, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Notification, error) {
		var n Notification
		return n, row.Scan(&n.ID, &n.Title, &n.Link, &n.CreatedAt, &n.Read)
	})
	return ns, mapError(err)
}

// UnreadCount is the number shown beside the inbox link.
func (db *DB) UnreadCount(ctx context.Context, userID int64) (_ int, err error) {
	defer wrap(&err, "UnreadCount %d", userID)
	var n int
	err = db.Pool.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL`, userID).Scan(&n)
	return n, err
}

// OpenNotification marks an item read and returns its link. Errors:
// NotFound (not the user's).
func (db *DB) OpenNotification(ctx context.Context, userID, id int64) (_ string, err error) {
	defer wrap(&err, "OpenNotification %d, userID %d", id, userID)
	var link string
	err = db.Pool.QueryRow(ctx, `UPDATE notifications SET read_at = COALESCE(read_at, $3)
		WHERE id = $1 AND user_id = $2 RETURNING link`, id, userID, db.Now()).Scan(&link)
	return link, mapError(err)
}

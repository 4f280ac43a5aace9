package postgres

import (
	"context"
	"ite/internal/applications"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notification is one inbox item.
type Notification struct {
	ID        int64
	Title     string
	Link      string
	CreatedAt time.Time
	Read      bool
}

// notify puts an item in a user's inbox, inside the caller's transaction so
// the event and its notice commit together (and its email, see
// insertNotifications).
func notify(ctx context.Context, tx pgx.Tx, now time.Time, userID int64, title, link string) error {
	_, err := insertNotifications(ctx, tx, `SELECT $1::bigint, $2::text, $3::text, $4::timestamptz`, userID, title, link, now)
	return err
}

// notifyRole notifies every active user of a role (e.g. all approvers).
func notifyRole(ctx context.Context, tx pgx.Tx, now time.Time, role, title, link string) error {
	_, err := insertNotifications(ctx, tx, `SELECT id, $2::text, $3::text, $4::timestamptz FROM users WHERE role = $1 AND NOT disabled`,
		role, title, link, now)
	return err
}

// notifyWhoMay notifies every active user whose role may do action a (e.g.
// all who may approve a decision): who that is, is read from the permission
// table (applications.RolesFor), not written here.
func notifyWhoMay(ctx context.Context, tx pgx.Tx, now time.Time, a applications.Action, title, link string) error {
	roles := []string{}
	for _, r := range applications.RolesFor(a) {
		roles = append(roles, string(r))
	}
	_, err := insertNotifications(ctx, tx, `SELECT id, $2::text, $3::text, $4::timestamptz FROM users WHERE role = ANY($1) AND NOT disabled`,
		roles, title, link, now)
	return err
}

// notifyLiaison notifies an application's liaison, or all staff when none
// is assigned.
func notifyLiaison(ctx context.Context, tx pgx.Tx, now time.Time, appID int64, title string) error {
	link := "/applications/" + itoa64(appID)
	n, err := insertNotifications(ctx, tx, `SELECT liaison_id, $2::text, $3::text, $4::timestamptz
		FROM applications WHERE id = $1 AND liaison_id IS NOT NULL`, appID, title, link, now)
	if err != nil || n > 0 {
		return err
	}
	return notifyRole(ctx, tx, now, "staff", title, link)
}

// notifyEnterprise notifies every user of the application's enterprise.
func notifyEnterprise(ctx context.Context, tx pgx.Tx, now time.Time, appID int64, title string) error {
	_, err := insertNotifications(ctx, tx, `SELECT u.id, $2::text, $3::text, $4::timestamptz
		FROM users u JOIN applications a ON a.enterprise_id = u.enterprise_id
		WHERE a.id = $1 AND NOT u.disabled`, appID, title, "/applications/"+itoa64(appID), now)
	return err
}

// insertNotifications inserts the inbox items that recipients (a SELECT of
// user_id, title, link, created_at) yields and, in the same statement and
// so the same transaction, one email_outbox row for each recipient who has
// an email address and is not disabled: the email is sent if and only if
// the event commits. It returns how many inbox items it created.
func insertNotifications(ctx context.Context, tx pgx.Tx, recipients string, args ...any) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `
		WITH n AS (
			INSERT INTO notifications (user_id, title, link, created_at) `+recipients+`
			RETURNING id, user_id, title, link, created_at
		), m AS (
			INSERT INTO email_outbox (notification_id, user_id, to_address, subject, body, link, created_at, next_attempt_at)
			SELECT n.id, u.id, u.email, n.title, u.display_name || E'，您好：\n\n' || n.title, n.link, n.created_at, n.created_at
			FROM n JOIN users u ON u.id = n.user_id
			WHERE u.email IS NOT NULL AND NOT u.disabled
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

// notifyEnterpriseUsers notifies every active user of an application's
// enterprise with a link of the caller's choosing (notifyEnterprise links
// to the application page).
func notifyEnterpriseUsers(ctx context.Context, tx pgx.Tx, now time.Time, appID int64, title, link string) error {
	_, err := insertNotifications(ctx, tx, `SELECT u.id, $2::text, $3::text, $4::timestamptz
		FROM users u JOIN applications a ON a.enterprise_id = u.enterprise_id
		WHERE a.id = $1 AND NOT u.disabled`, appID, title, link, now)
	return err
}

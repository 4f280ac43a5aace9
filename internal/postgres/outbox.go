package postgres

import (
	"cmp"
	"context"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
)

// OutboxEmail is one queued email (email_outbox). Rows are written by the
// notification helpers in the transaction of the event that causes them;
// internal/mail sends them.
type OutboxEmail struct {
	ID        int64
	To        string
	Subject   string
	Body      string
	Link      string // a path of the app, e.g. /reports/7; the sender adds BASE_URL
	CreatedAt time.Time
	Attempts  int // including the attempt this claim is for
	SentAt    time.Time
	FailedAt  time.Time
	LastError string
}

const outboxColumns = `o.id, o.to_address, o.subject, o.body, o.link, o.created_at, o.attempts, o.sent_at, o.failed_at, o.last_error`

func scanOutbox(row pgx.CollectableRow) (OutboxEmail, error) {
	var m OutboxEmail
	var sent, failed *time.Time
	err := row.Scan(&m.ID, &m.To, &m.Subject, &m.Body, &m.Link, &m.CreatedAt, &m.Attempts, &sent, &failed, &m.LastError)
	if sent != nil {
		m.SentAt = *sent
	}
	if failed != nil {
		m.FailedAt = *failed
	}
	return m, err
}

// ClaimEmails takes up to limit emails that are due (not sent, not given
// up, next attempt reached), oldest first, for one sending attempt. The
// rows are picked with FOR UPDATE SKIP LOCKED, so workers on several
// servers never take the same row, and claimed by counting the attempt and
// pushing next_attempt_at lease into the future before the short
// transaction commits: SMTP talk happens outside any transaction, and if
// the worker dies mid-send the email is retried once the lease runs out
// (delivery is at least once). The caller reports each outcome with
// MarkEmailSent, RetryEmail or FailEmail.
func (db *DB) ClaimEmails(ctx context.Context, limit int, lease time.Duration) (_ []OutboxEmail, err error) {
	defer wrap(&err, "ClaimEmails")
	if limit <= 0 {
		limit = 20
	}
	now := db.Now()
	rows, _ := db.Pool.Query(ctx, `
		UPDATE email_outbox o SET attempts = o.attempts + 1, next_attempt_at = $2
		FROM (SELECT id FROM email_outbox
		      WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
		      ORDER BY next_attempt_at, id LIMIT $3
		      FOR UPDATE SKIP LOCKED) due
		WHERE o.id = due.id
		RETURNING `+outboxColumns, now, now.Add(lease), limit)
	ms, err := pgx.CollectRows(rows, scanOutbox)
	if err != nil {
		return nil, mapError(err)
	}
	// UPDATE ... RETURNING keeps no order; send oldest first.
	slices.SortFunc(ms, func(a, b OutboxEmail) int { return cmp.Compare(a.ID, b.ID) })
	return ms, nil
}

// MarkEmailSent records a delivery.
func (db *DB) MarkEmailSent(ctx context.Context, id int64) (err error) {
	defer wrap(&err, "MarkEmailSent %d", id)
	_, err = db.Pool.Exec(ctx, `UPDATE email_outbox SET sent_at = $2, last_error = '' WHERE id = $1 AND sent_at IS NULL`, id, db.Now())
	return mapError(err)
}

// RetryEmail records a failed attempt and schedules the next one after
// the given delay (on the database's clock).
func (db *DB) RetryEmail(ctx context.Context, id int64, errText string, after time.Duration) (err error) {
	defer wrap(&err, "RetryEmail %d", id)
	_, err = db.Pool.Exec(ctx, `UPDATE email_outbox SET next_attempt_at = $2, last_error = $3 WHERE id = $1 AND sent_at IS NULL`,
		id, db.Now().Add(after), truncateRunes(errText, 1000))
	return mapError(err)
}

// FailEmail gives an email up for good (failed_at), keeping the error.
func (db *DB) FailEmail(ctx context.Context, id int64, errText string) (err error) {
	defer wrap(&err, "FailEmail %d", id)
	_, err = db.Pool.Exec(ctx, `UPDATE email_outbox SET failed_at = $2, last_error = $3 WHERE id = $1 AND sent_at IS NULL`,
		id, db.Now(), truncateRunes(errText, 1000))
	return mapError(err)
}

func truncateRunes(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// OutboxFilter selects outbox rows for inspection.
type OutboxFilter struct {
	To      string // exact address; "" for all
	Pending bool   // only rows still to be sent
	Limit   int
}

// ListEmails returns outbox rows, newest first (for tests, support and an
// admin view).
func (db *DB) ListEmails(ctx context.Context, f OutboxFilter) (_ []OutboxEmail, err error) {
	defer wrap(&err, "ListEmails")
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	rows, _ := db.Pool.Query(ctx, `SELECT `+outboxColumns+` FROM email_outbox o
		WHERE ($1 = '' OR to_address = $1) AND (NOT $2 OR (sent_at IS NULL AND failed_at IS NULL))
		ORDER BY id DESC LIMIT $3`, f.To, f.Pending, f.Limit)
	ms, err := pgx.CollectRows(rows, scanOutbox)
	return ms, mapError(err)
}

// NormalizeEmail checks an email address typed by a person: a bare
// address (no display name), at most 254 characters, with a dot in the
// domain. It returns the address trimmed, or "" for an empty input.
// Errors: Invalid (field "email").
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	bad := applications.FieldError("email", "邮箱地址格式不正确，例如 zhangsan@example.com。")
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || len(s) > 254 || strings.ContainsAny(s, " \t\r\n<>\",;") {
		return "", bad
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !strings.Contains(s[at+1:], ".") || strings.HasSuffix(s, ".") {
		return "", bad
	}
	return s, nil
}

// SetUserEmail sets or (with "") clears the address a user's notifications
// are emailed to, with an audit row. Errors: Invalid, NotFound.
func (db *DB) SetUserEmail(ctx context.Context, actor audit.Actor, userID int64, email string) (err error) {
	defer wrap(&err, "SetUserEmail %d", userID)
	email, err = NormalizeEmail(email)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var before string
		if err := tx.QueryRow(ctx, `SELECT COALESCE(email, '') FROM users WHERE id = $1 FOR UPDATE`, userID).Scan(&before); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET email = NULLIF($2, ''), updated_at = $3 WHERE id = $1`, userID, email, db.Now()); err != nil {
			return err
		}
		return appendAudit(ctx, tx, db.Now(), audit.Event{Actor: actor, Name: "user_email", ObjectType: "user",
			ObjectID: strconv.FormatInt(userID, 10), Outcome: audit.Success,
			Detail: map[string]any{"before": map[string]any{"email": before}, "after": map[string]any{"email": email}}})
	})
}

// UserEmail returns a user's notification address, "" when none is set.
// Errors: NotFound.
func (db *DB) UserEmail(ctx context.Context, userID int64) (_ string, err error) {
	defer wrap(&err, "UserEmail %d", userID)
	var email string
	err = db.Pool.QueryRow(ctx, `SELECT COALESCE(email, '') FROM users WHERE id = $1`, userID).Scan(&email)
	return email, mapError(err)
}

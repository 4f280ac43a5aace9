package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/postgres/pgtest"
)

// outboxWorld is a database with staff users: one with an address, one
// without, one disabled with an address.
func outboxWorld(t *testing.T) (*DB, context.Context, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	db := New(pgtest.NewDB(t))
	now := time.Date(2026, 7, 1, 1, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	ids := map[string]int64{}
	for _, name := range []string{"has.mail", "no.mail", "gone.mail"} {
		u, err := db.CreateUser(ctx, audit.Actor{Name: "test"}, NewUser{Username: name, DisplayName: name,
			Role: applications.RoleStaff, PasswordHash: "x"})
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = u.ID
	}
	for _, name := range []string{"has.mail", "gone.mail"} {
		if err := db.SetUserEmail(ctx, audit.Actor{Name: "test"}, ids[name], name+"@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE users SET disabled = true WHERE id = $1`, ids["gone.mail"]); err != nil {
		t.Fatal(err)
	}
	return db, ctx, ids
}

func countRows(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNotificationQueuesEmail: every notify helper queues an email for
// each recipient with an address, in the caller's transaction.
func TestNotificationQueuesEmail(t *testing.T) {
	t.Parallel()
	db, ctx, ids := outboxWorld(t)
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := notifyRole(ctx, tx, db.Now(), NotifySubmitted, applications.RoleStaff, "有新的申报待审查", "/applications"); err != nil {
			return err
		}
		return notify(ctx, tx, db.Now(), NotifyOutcome, ids["gone.mail"], "停用账号的通知", "/inbox")
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, db, "notifications"); n != 3 {
		t.Errorf("%d notifications, want 3 (two active staff, one direct)", n)
	}
	ms, err := db.ListEmails(ctx, OutboxFilter{Pending: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].To != "has.mail@example.com" || ms[0].Subject != "有新的申报待审查" ||
		ms[0].Link != "/applications" || ms[0].Body != "has.mail，您好：\n\n有新的申报待审查" {
		t.Fatalf("outbox = %+v; want one email to has.mail (none without an address or to a disabled user)", ms)
	}
}

// TestRolledBackEventLeavesNoEmail: the email is part of the event's
// transaction; when the event fails, there is no notice and no email.
func TestRolledBackEventLeavesNoEmail(t *testing.T) {
	t.Parallel()
	db, ctx, ids := outboxWorld(t)
	boom := errors.New("the event failed after notifying")
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := notify(ctx, tx, db.Now(), NotifyOutcome, ids["has.mail"], "不会发出的通知", "/inbox"); err != nil {
			return err
		}
		var queued int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM email_outbox`).Scan(&queued); err != nil || queued != 1 {
			t.Errorf("inside the transaction: %d queued (%v), want 1", queued, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("inTx = %v", err)
	}
	if n, m := countRows(t, db, "notifications"), countRows(t, db, "email_outbox"); n != 0 || m != 0 {
		t.Fatalf("after rollback: %d notifications, %d emails; want none", n, m)
	}
}

// TestClaimEmails: concurrent claims never share a row; a claimed row is
// leased; retry and give-up are recorded.
func TestClaimEmails(t *testing.T) {
	t.Parallel()
	db, ctx, _ := outboxWorld(t)
	for i := 0; i < 5; i++ {
		if _, err := db.Pool.Exec(ctx, `INSERT INTO email_outbox (to_address, subject, body, created_at, next_attempt_at)
			VALUES ('a@example.com', 's', 'b', $1, $1)`, db.Now()); err != nil {
			t.Fatal(err)
		}
	}
	// Two claims inside open transactions: SKIP LOCKED hands them disjoint rows.
	tx1, _ := db.Pool.Begin(ctx)
	defer tx1.Rollback(ctx) //nolint:errcheck
	rows, _ := tx1.Query(ctx, `SELECT id FROM email_outbox ORDER BY id LIMIT 3 FOR UPDATE SKIP LOCKED`)
	locked, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(locked) != 3 {
		t.Fatalf("lock: %v %v", locked, err)
	}
	got, err := db.ClaimEmails(ctx, 10, time.Minute)
	if err != nil || len(got) != 2 || got[0].ID <= locked[2] || got[0].Attempts != 1 {
		t.Fatalf("claim beside a locked batch: %+v %v; want the 2 unlocked rows", got, err)
	}
	_ = tx1.Rollback(ctx)
	again, _ := db.ClaimEmails(ctx, 10, time.Minute)
	if len(again) != 3 {
		t.Fatalf("second claim: %d rows, want the 3 released ones (the 2 claimed are leased)", len(again))
	}
	if err := db.MarkEmailSent(ctx, got[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := db.RetryEmail(ctx, got[1].ID, "421 busy", 0); err != nil {
		t.Fatal(err)
	}
	if err := db.FailEmail(ctx, again[0].ID, "550 no such user"); err != nil {
		t.Fatal(err)
	}
	third, _ := db.ClaimEmails(ctx, 10, time.Minute)
	if len(third) != 1 || third[0].ID != got[1].ID || third[0].Attempts != 2 || third[0].LastError != "421 busy" {
		t.Fatalf("third claim: %+v; want only the retried row", third)
	}
	all, _ := db.ListEmails(ctx, OutboxFilter{})
	var sent, failed int
	for _, m := range all {
		if !m.SentAt.IsZero() {
			sent++
		}
		if !m.FailedAt.IsZero() {
			failed++
		}
	}
	if sent != 1 || failed != 1 {
		t.Fatalf("%d sent, %d failed", sent, failed)
	}
}

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"  zhang@example.com ":  "zhang@example.com",
		"":                      "",
		"a.b+c@mail.example.cn": "a.b+c@mail.example.cn",
	} {
		if got, err := NormalizeEmail(in); err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"zhang", "张三 <zhang@example.com>", "a@b", "a@example.com\r\nBcc: x@example.com",
		"a b@example.com", "a@example.com.", "@example.com"} {
		if _, err := NormalizeEmail(in); applications.ErrorKind(err) != applications.Invalid {
			t.Errorf("NormalizeEmail(%q) accepted", in)
		}
	}
	db, ctx, ids := outboxWorld(t)
	if _, err := db.Pool.Exec(ctx, `UPDATE users SET email = 'x y@example.com' WHERE id = $1`, ids["no.mail"]); err == nil {
		t.Error("the database accepted an address with a space")
	}
	if err := db.SetUserEmail(ctx, audit.Actor{Name: "test"}, ids["has.mail"], ""); err != nil {
		t.Fatal(err)
	}
	if e, _ := db.UserEmail(ctx, ids["has.mail"]); e != "" {
		t.Errorf("cleared address is %q", e)
	}
}

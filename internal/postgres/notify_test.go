package postgres

import (
	"context"
	"testing"
	"time"

	"ite/internal/pagecache"
	"ite/internal/postgres/pgtest"
)

// The page cache forgets pages when PostgreSQL reports a commit
// (migration 000008): every table but sessions must report its changes,
// including tables added by later migrations.
func TestEveryTableNotifiesChanges(t *testing.T) {
	db := New(pgtest.NewDB(t))
	ctx := context.Background()
	rows, _ := db.Pool.Query(ctx, `
		SELECT c.relname FROM pg_class c
		WHERE c.relkind IN ('r', 'p') AND c.relnamespace = current_schema()::regnamespace
		  AND c.relname NOT IN ('sessions', 'totp_steps', 'schema_migrations') -- sign-in data no page shows
		  AND NOT EXISTS (SELECT 1 FROM pg_trigger g
		                  WHERE g.tgrelid = c.oid AND g.tgfoid = 'ite_notify_change'::regproc)
		ORDER BY 1`)
	var missing []string
	for rows.Next() {
		var name string
		_ = rows.Scan(&name)
		missing = append(missing, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Fatalf("tables without the change trigger (add it in their migration): %v", missing)
	}
}

func TestCommitNotifiesRollbackDoesNot(t *testing.T) {
	db := New(pgtest.NewDB(t))
	ctx := context.Background()
	conn, err := db.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "LISTEN "+pagecache.Channel); err != nil {
		t.Fatal(err)
	}
	// A rolled-back insert into calendar_days, then a committed one: only
	// the latter may be reported. (Waiting ends the connection when it
	// times out, so all is collected at the end.)
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO calendar_days (day, kind, name) VALUES ('2027-01-01', 'holiday', '元旦')`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO calendar_days (day, kind, name) VALUES ('2027-01-02', 'holiday', '元旦')`); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	for {
		n, err := conn.WaitForNotification(wctx)
		if err != nil {
			break
		}
		got[n.Payload]++
	}
	if got["calendar_days"] != 1 {
		t.Fatalf("notifications %v: want exactly one for calendar_days (the committed insert)", got)
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/ledger"
	"ite/internal/postgres"
	"ite/internal/postgres/pgtest"
)

// superuser runs sqls as a superuser would to cover their tracks: with
// every trigger off (session_replication_role = replica), in one
// transaction.
func superuser(t *testing.T, db *postgres.DB, do func(tx pgx.Tx) error) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	if err := do(tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestAnchorCatchesARewrite signs an anchor, then rewrites the first
// ledger entry (its amount, its hash, the next entry's link and hash, and
// every total kept beside the postings) and an audit row (and every later
// hash), as a superuser could: plain verify passes, verify with the
// anchor fails and names the entry.
func TestAnchorCatchesARewrite(t *testing.T) {
	url, dir := pgtest.NewURL(t), t.TempDir()
	db := moneyDB(t, url, dir)
	ctx := context.Background()
	aud, err := db.CreateUser(ctx, cliActor, postgres.NewUser{Username: "auditor", DisplayName: "审计甲",
		Role: applications.RoleAuditor, PasswordHash: "!"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetUserEmail(ctx, cliActor, aud.ID, "auditor@example.cn"); err != nil {
		t.Fatal(err)
	}
	getenv := env(map[string]string{"DATABASE_URL": url, "DATA_DIR": dir, "MASTER_KEY": drillMasterKey})
	run1 := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(ctx, args, getenv, nil, &out, &errb)
		return code, out.String() + errb.String()
	}
	var doc, errb bytes.Buffer
	if code := run(ctx, []string{"anchor"}, getenv, nil, &doc, &errb); code != 0 {
		t.Fatalf("anchor: %d %s", code, errb.String())
	}
	a, err := ledger.ParseAnchor(doc.Bytes())
	if err != nil || a.Ledger.Seq != 2 || a.Audit.Seq == 0 {
		t.Fatalf("anchor %+v %v\n%s", a, err, doc.String())
	}
	file := filepath.Join(dir, "anchor.json")
	if err := os.WriteFile(file, doc.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	copies, _ := filepath.Glob(filepath.Join(dir, "anchors", "anchor-*.json"))
	var stored, mailed int
	_ = db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM chain_anchors), (SELECT count(*) FROM email_outbox
		WHERE to_address = 'auditor@example.cn' AND strpos(body, $1) > 0)`, a.Signature).Scan(&stored, &mailed)
	if len(copies) != 1 || stored != 1 || mailed != 1 {
		t.Fatalf("copies %v, stored %d, mailed %d", copies, stored, mailed)
	}
	if code, out := run1("anchor", "-public-key"); code != 0 || strings.TrimSpace(out) != a.PublicKey {
		t.Fatalf("public key: %d %s", code, out)
	}
	for _, chain := range []string{"ledger", "audit"} {
		if code, out := run1(chain, "verify", "--anchor", file); code != 0 || !strings.Contains(out, "锚定校验通过") {
			t.Fatalf("%s verify --anchor before the rewrite: %d %s", chain, code, out)
		}
	}

	// The rewrite: appropriation 1 becomes 3,500,000.00 instead of
	// 3,000,000.00 everywhere, and the chain is re-sealed from entry 1.
	superuser(t, db, func(tx pgx.Tx) error {
		for _, sql := range []string{
			`UPDATE ledger_postings SET amount = 3500000.00 WHERE entry_seq = 1`,
			`UPDATE appropriations SET amount = 3500000.00 WHERE entry_seq = 1`,
			`UPDATE programme_funds SET balance = balance + 500000, appropriated = appropriated + 500000`,
			`UPDATE ledger_totals SET net = net + CASE account_code WHEN '1002' THEN 500000 ELSE -500000 END
				WHERE kind = 'appropriation'`,
		} {
			if _, err := tx.Exec(ctx, sql); err != nil {
				return err
			}
		}
		return nil
	})
	superuser(t, db, func(tx pgx.Tx) error {
		prev := ledger.GenesisHash
		for seq := int64(1); seq <= 2; seq++ {
			e, err := db.FindEntry(ctx, seq) // the rewritten postings, committed above
			if err != nil {
				return err
			}
			e.Entry.Hash = ledger.Hash(prev, e.Entry)
			if _, err := tx.Exec(ctx, `UPDATE ledger_entries SET prev_hash = $2, hash = $3 WHERE seq = $1`,
				seq, prev, e.Entry.Hash); err != nil {
				return err
			}
			prev = e.Entry.Hash
		}
		return nil
	})
	if code, out := run1("ledger", "verify"); code != 0 {
		t.Fatalf("plain ledger verify after the rewrite should pass (that is the point): %d %s", code, out)
	}
	code, out := run1("ledger", "verify", "--anchor", file)
	if code != 1 || !strings.Contains(out, "第 1 号凭证与锚定时不同") {
		t.Fatalf("ledger verify --anchor after the rewrite: %d %s", code, out)
	}
	t.Logf("ledger: %s", out)

	// The audit log: row 3 rewritten, every later row re-chained.
	recs, err := db.ListAudit(ctx, postgres.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(recs)
	superuser(t, db, func(tx pgx.Tx) error {
		prev := recs[1].Hash
		for _, r := range recs[2:] {
			if r.Seq == 3 {
				r.Detail = []byte(`{"after":{"username":"mallory"}}`)
			}
			if r.Detail, err = audit.CanonicalJSON(r.Detail); err != nil {
				return err
			}
			r.PrevHash = prev
			r.Hash = r.ComputeHash()
			if _, err := tx.Exec(ctx, `UPDATE audit_log SET detail = $2::jsonb, prev_hash = $3, hash = $4 WHERE seq = $1`,
				r.Seq, string(r.Detail), r.PrevHash, r.Hash); err != nil {
				return err
			}
			prev = r.Hash
		}
		return nil
	})
	if code, out := run1("audit", "verify"); code != 0 {
		t.Fatalf("plain audit verify after the rewrite: %d %s", code, out)
	}
	code, out = run1("audit", "verify", "--anchor", file)
	if code != 1 || !strings.Contains(out, "审计日志第 3 条与锚定时不同") {
		t.Fatalf("audit verify --anchor after the rewrite: %d %s", code, out)
	}
	t.Logf("audit: %s", out)

	t.Run("ForgedAnchorRefused", func(t *testing.T) {
		forged := bytes.Replace(doc.Bytes(), []byte(a.Ledger.Hash), []byte(prevHashOf(t, db, 2)), 1)
		f := filepath.Join(dir, "forged.json")
		if err := os.WriteFile(f, forged, 0o600); err != nil {
			t.Fatal(err)
		}
		if code, out := run1("ledger", "verify", "--anchor", f); code != 1 || !strings.Contains(out, "签名无效") {
			t.Fatalf("forged anchor: %d %s", code, out)
		}
	})
}

// prevHashOf is the current hash of ledger entry seq.
func prevHashOf(t *testing.T, db *postgres.DB, seq int64) string {
	t.Helper()
	e, err := db.FindEntry(context.Background(), seq)
	if err != nil {
		t.Fatal(err)
	}
	return e.Entry.Hash
}

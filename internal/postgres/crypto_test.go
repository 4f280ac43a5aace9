package postgres

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/blob"
	"ite/internal/postgres/pgtest"
	"ite/internal/suite"
)

// chainAlgs lists the distinct hash_alg values of a chain table, in order.
func (w *moneyWorld) chainAlgs(table string) string {
	w.t.Helper()
	var algs string
	if err := w.db.Pool.QueryRow(w.ctx, `SELECT COALESCE(string_agg(DISTINCT hash_alg, ',' ORDER BY hash_alg), '') FROM `+table).
		Scan(&algs); err != nil {
		w.t.Fatal(err)
	}
	return algs
}

// tamper runs sql with table's append-only trigger disabled, as someone
// with the database owner's rights could.
func (w *moneyWorld) tamper(table, sql string) {
	w.t.Helper()
	for _, q := range []string{`ALTER TABLE ` + table + ` DISABLE TRIGGER ` + table + `_append_only`, sql,
		`ALTER TABLE ` + table + ` ENABLE TRIGGER ` + table + `_append_only`} {
		if _, err := w.db.Pool.Exec(w.ctx, q); err != nil {
			w.t.Fatal(err)
		}
	}
}

func (w *moneyWorld) mustVerifyAudit() int64 {
	w.t.Helper()
	n, err := w.db.VerifyAudit(w.ctx)
	if err != nil {
		w.t.Fatalf("audit chain: %v", err)
	}
	return n
}

// TestRecordCrypto: the first start records the choice (with an audit
// row), the same choice passes, another is refused with the bilingual
// message, and the recorded row cannot be changed.
func TestRecordCrypto(t *testing.T) {
	t.Parallel()
	if pgtest.Crypto() != "" {
		t.Skip("the test databases have a CRYPTO recorded already")
	}
	w := newMoneyWorld(t)
	sys := audit.Actor{Name: "命令行", Role: "system"}
	if got, err := w.db.Crypto(w.ctx); err != nil || got != suite.Intl {
		t.Fatalf("before any start: %q, %v; want intl", got, err)
	}
	if err := w.db.RecordCrypto(w.ctx, suite.GM, sys); err != nil {
		t.Fatal(err)
	}
	if err := w.db.RecordCrypto(w.ctx, suite.GM, sys); err != nil {
		t.Fatalf("same choice again: %v", err)
	}
	if got, _ := w.db.Crypto(w.ctx); got != suite.GM {
		t.Fatalf("recorded %q, want gm", got)
	}
	if n := w.count(`SELECT count(*) FROM audit_log WHERE event = 'crypto_recorded' AND detail->>'crypto' = 'gm'`); n != 1 {
		t.Fatalf("%d crypto_recorded audit rows, want 1", n)
	}
	err := w.db.RecordCrypto(w.ctx, suite.Intl, sys)
	var mismatch *CryptoMismatchError
	if !errors.As(err, &mismatch) || mismatch.Recorded != suite.GM || mismatch.Configured != suite.Intl ||
		!strings.Contains(err.Error(), "请将 CRYPTO 改回 gm") || !strings.Contains(err.Error(), "Set CRYPTO=gm") {
		t.Fatalf("CRYPTO=intl after gm: %v", err)
	}
	_, err = w.db.Pool.Exec(w.ctx, `UPDATE crypto_settings SET mode = 'intl'`)
	if applications.ErrorKind(mapError(err)) != applications.Forbidden {
		t.Fatalf("changing the recorded choice: %v, want refused", err)
	}
	w.mustVerifyAudit()
}

// TestChainsUnderGM: after a gm start every new ledger entry and audit row
// is SM3, and both chains verify; a changed SM3 row is found.
func TestChainsUnderGM(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	if err := w.db.RecordCrypto(w.ctx, suite.GM, audit.Actor{Name: "test"}); err != nil {
		var mismatch *CryptoMismatchError
		if errors.As(err, &mismatch) {
			t.Skipf("the test databases recorded %s", mismatch.Recorded)
		}
		t.Fatal(err)
	}
	w.fund("1000000.00")
	w.fund("2000000.00")
	if algs := w.chainAlgs("ledger_entries"); algs != "sm3-v1" {
		t.Fatalf("ledger hash_alg %q, want sm3-v1 only", algs)
	}
	if v := w.mustVerify(); v.Entries != 2 || v.Head.Algorithm != "sm3-v1" {
		t.Fatalf("verify %+v", v)
	}
	n := w.mustVerifyAudit()
	if n < 3 || !strings.Contains(w.chainAlgs("audit_log"), "sm3-v1") {
		t.Fatalf("%d audit rows, algorithms %q", n, w.chainAlgs("audit_log"))
	}
	w.tamper("ledger_entries", `UPDATE ledger_entries SET memo = memo || '。' WHERE seq = 2`)
	if v, err := w.db.VerifyLedger(w.ctx); err != nil || v.OK || v.FirstBad != 2 {
		t.Fatalf("tampered sm3 entry: %+v %v", v, err)
	}
}

// TestChainsAcrossTheSwitch: rows written before any CRYPTO was recorded
// (as today: SHA-256), then a gm start: the chains continue in SM3 from
// the intl head and verify as one; a change on either side is found.
func TestChainsAcrossTheSwitch(t *testing.T) {
	t.Parallel()
	if pgtest.Crypto() != "" {
		t.Skip("the test databases have a CRYPTO recorded already: no switch to make")
	}
	w := newMoneyWorld(t)
	w.fund("1000000.00")
	if err := w.db.RecordCrypto(w.ctx, suite.GM, audit.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	w.fund("2000000.00")
	if algs := w.chainAlgs("ledger_entries"); algs != "sha256-v1,sm3-v1" {
		t.Fatalf("ledger hash_alg %q, want both", algs)
	}
	if algs := w.chainAlgs("audit_log"); algs != "sha256-v1,sm3-v1" {
		t.Fatalf("audit hash_alg %q, want both", algs)
	}
	w.mustVerify()
	w.mustVerifyAudit()
	t.Run("ChangedIntlRowFound", func(t *testing.T) {
		w.tamper("audit_log", `UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 1`)
		var ce *audit.ChainError
		if _, err := w.db.VerifyAudit(w.ctx); !errors.As(err, &ce) || ce.Seq != 1 {
			t.Fatalf("tampered sha256 audit row: %v", err)
		}
	})
}

// TestVerifyBlobsBothAlgorithms: a store holding AES and SM4 documents
// verifies whatever the installation chose; a tampered SM4 blob fails.
func TestVerifyBlobsBothAlgorithms(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	app := w.contract("100000")
	store, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	master := bytes.Repeat([]byte{3}, blob.MasterKeyLen)
	pdf := []byte("%PDF-1.4\n居民身份证\n%%EOF\n")
	var sm4Key string
	for i, su := range []suite.Suite{suite.Intl, suite.GM} {
		k := blob.NewKey("docs", testNow)
		m, err := blob.Ingest(w.ctx, store, k, bytes.NewReader(pdf), blob.IngestOptions{Encrypt: true, MasterKey: master, Suite: su})
		if err != nil {
			t.Fatal(err)
		}
		if su.IsGM() {
			sm4Key = k
		}
		if _, err := w.db.Pool.Exec(w.ctx, `INSERT INTO documents (application_id, item, version, blob_key, filename, content_kind,
			size_bytes, sha256, encrypted, enc_alg, wrapped_key, uploaded_by, uploaded_at)
			VALUES ($1, 'legal_rep_id', $2, $3, 'id.pdf', 'pdf', $4, $5, true, $6, $7, $8, now())`,
			app, i+1, k, m.Size, m.SHA256, m.Algorithm, m.WrappedKey, w.staff.ID); err != nil {
			t.Fatal(err)
		}
	}
	v, err := w.db.VerifyBlobs(w.ctx, store, master)
	if err != nil || v.Checked != 2 || v.Failed != 0 {
		t.Fatalf("verify both algorithms: %+v %v", v, err)
	}
	rc, err := store.Open(w.ctx, sm4Key)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_, _ = b.ReadFrom(rc)
	rc.Close()
	raw := b.Bytes()
	raw[20] ^= 1
	if err := store.Put(w.ctx, sm4Key, bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	if v, err := w.db.VerifyBlobs(w.ctx, store, master); err != nil || v.Failed != 1 || !strings.Contains(v.Problems[0], sm4Key) {
		t.Fatalf("tampered sm4 blob: %+v %v", v, err)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ite/internal/blob"
	"ite/internal/postgres/pgtest"
	"ite/internal/suite"
)

// testCrypto is the CRYPTO the test databases have recorded.
func testCrypto(t testing.TB) suite.Suite {
	s, err := suite.Parse(pgtest.Crypto())
	if err != nil {
		t.Fatalf("%s: %v", pgtest.EnvCrypto, err)
	}
	return s
}

func TestConfigCrypto(t *testing.T) {
	dir := t.TempDir()
	for v, want := range map[string]suite.Suite{"": suite.Intl, "intl": suite.Intl, "gm": suite.GM} {
		c, err := loadConfig(env(map[string]string{"DATA_DIR": dir, "CRYPTO": v}))
		if err != nil || c.Crypto != want {
			t.Fatalf("CRYPTO=%q: %q, %v; want %q", v, c.Crypto, err, want)
		}
	}
	for _, v := range []string{"sm", "GM", "aes"} {
		if _, err := loadConfig(env(map[string]string{"DATA_DIR": dir, "CRYPTO": v})); err == nil ||
			!strings.Contains(err.Error(), "CRYPTO 须为 intl") || !strings.Contains(err.Error(), "CRYPTO must be intl or gm") {
			t.Fatalf("CRYPTO=%q: err %v, want a message naming the variable and its values", v, err)
		}
	}
}

// TestCryptoChosenOnce: the first command to open a database records its
// CRYPTO; a later one configured otherwise is refused, saying which to set.
func TestCryptoChosenOnce(t *testing.T) {
	url := pgtest.NewURL(t)
	first, other := "gm", "intl"
	if testCrypto(t) == suite.Intl && pgtest.Crypto() != "" {
		first, other = "intl", "gm"
	}
	dir := t.TempDir()
	runWith := func(crypto string) (int, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"audit", "verify"},
			env(map[string]string{"DATABASE_URL": url, "DATA_DIR": dir, "CRYPTO": crypto}), nil, &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := runWith(first); code != 0 {
		t.Fatalf("CRYPTO=%s on first start: %d %s", first, code, out)
	}
	code, out := runWith(other)
	if code != 1 || !strings.Contains(out, "CRYPTO 改回 "+first) || !strings.Contains(out, "Set CRYPTO="+first) {
		t.Fatalf("CRYPTO=%s after %s: %d %s; want a refusal naming CRYPTO=%s", other, first, code, out, first)
	}
	if code, out := runWith(first); code != 0 || !strings.Contains(out, "校验通过") {
		t.Fatalf("CRYPTO=%s again: %d %s", first, code, out)
	}
}

// TestVerifyAcrossTheSwitch: an installation that ran before CRYPTO
// existed (SHA-256 chains, AES documents) starts with CRYPTO=gm; its
// chains continue in SM3 and new documents are SM4, and the three
// verifications pass on the mixed database and still catch tampering.
func TestVerifyAcrossTheSwitch(t *testing.T) {
	if pgtest.Crypto() != "" {
		t.Skip("the test databases have a CRYPTO recorded already: no switch to make")
	}
	ctx := context.Background()
	url, dir := pgtest.NewURL(t), t.TempDir()
	db := moneyDB(t, url, dir) // written as intl: nothing recorded yet
	getenv := env(map[string]string{"DATABASE_URL": url, "DATA_DIR": dir, "MASTER_KEY": drillMasterKey, "CRYPTO": "gm"})
	cmd := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(ctx, args, getenv, nil, &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := cmd("ledger", "synthetic", "-postings", "20", "-projects", "2"); code != 0 || !strings.Contains(out, "sm3-v1:") {
		t.Fatalf("synthetic ledger under gm: %d %s", code, out)
	}
	store, err := blob.NewLocal(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	master, _ := hex.DecodeString(drillMasterKey)
	k := blob.NewKey("documents", time.Now())
	m, err := blob.Ingest(ctx, store, k, strings.NewReader("%PDF-1.4\n身份证复印件\n%%EOF\n"),
		blob.IngestOptions{Encrypt: true, MasterKey: master, Suite: suite.GM})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO documents (application_id, item, version, blob_key, filename, content_kind,
		size_bytes, sha256, encrypted, enc_alg, wrapped_key, uploaded_by, uploaded_at)
		SELECT application_id, item, 3, $1, 'id.pdf', 'pdf', $2, $3, true, $4, $5, uploaded_by, now() FROM documents LIMIT 1`,
		k, m.Size, m.SHA256, m.Algorithm, m.WrappedKey); err != nil {
		t.Fatal(err)
	}
	for table, col := range map[string]string{"ledger_entries": "hash_alg", "audit_log": "hash_alg", "documents": "enc_alg"} {
		var algs []string
		if err := db.Pool.QueryRow(ctx, `SELECT array_agg(DISTINCT `+col+` ORDER BY `+col+`) FROM `+table).Scan(&algs); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s.%s: %v", table, col, algs)
		if len(algs) < 2 {
			t.Fatalf("%s holds only %v: not a mixed database", table, algs)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ledger", "verify"}, "台账校验通过"},
		{[]string{"audit", "verify"}, "审计日志校验通过"},
		{[]string{"blobs", "verify"}, "文件校验通过：3 个文件"},
	} {
		if code, out := cmd(c.args...); code != 0 || !strings.Contains(out, c.want) {
			t.Fatalf("%v on the mixed database: %d %s", c.args, code, out)
		}
	}
	t.Run("TamperedSM3EntryFails", func(t *testing.T) {
		var seq int64
		if err := db.Pool.QueryRow(ctx, `SELECT min(seq) FROM ledger_entries WHERE hash_alg = 'sm3-v1'`).Scan(&seq); err != nil {
			t.Fatal(err)
		}
		for _, sql := range []string{
			`ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only`,
			`UPDATE ledger_entries SET memo = memo || '（改）' WHERE seq = ` + strconv.FormatInt(seq, 10),
			`ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_append_only`,
		} {
			if _, err := db.Pool.Exec(ctx, sql); err != nil {
				t.Fatal(err)
			}
		}
		if code, out := cmd("ledger", "verify"); code != 1 || !strings.Contains(out, "第一张有问题的凭证：第 "+strconv.FormatInt(seq, 10)+" 号") {
			t.Fatalf("tampered sm3-v1 entry %d: %d %s", seq, code, out)
		}
	})
	t.Run("TamperedSM4BlobFails", func(t *testing.T) {
		stored, err := store.Open(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(stored)
		stored.Close()
		raw := b.Bytes()
		raw[len(raw)-1] ^= 1
		if err := store.Put(ctx, k, bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		if code, out := cmd("blobs", "verify"); code != 1 || !strings.Contains(out, "文件校验失败") {
			t.Fatalf("tampered sm4 blob: %d %s", code, out)
		}
	})
}

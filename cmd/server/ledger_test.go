package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/blob"
	"ite/internal/postgres"
	"ite/internal/postgres/pgtest"
)

const drillMasterKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// moneyDB fills a test database with a funded programme, a disbursed
// project and two documents (one encrypted) in dataDir's blob store.
func moneyDB(t *testing.T, url, dataDir string) *postgres.DB {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	db := postgres.New(pool)
	sys := audit.Actor{Name: "test"}
	mk := func(name string, role applications.Role) audit.Actor {
		u, err := db.CreateUser(ctx, sys, postgres.NewUser{Username: name, DisplayName: name, Role: role, PasswordHash: "!"})
		if err != nil {
			t.Fatal(err)
		}
		return audit.Actor{ID: u.ID, Name: name, Role: string(role)}
	}
	staff, approver := mk("staff", applications.RoleStaff), mk("approver", applications.RoleApprover)
	now := time.Now()
	p := applications.NewProgramme(now.Year(), now)
	p.Name, p.TotalBudget = "演练批次", decimal.RequireFromString("10000000")
	if p, err = db.CreateProgramme(ctx, sys, p); err != nil {
		t.Fatal(err)
	}
	ent, err := db.CreateEnterprise(ctx, sys, "演练科技有限公司", applications.ExampleUSCC(7))
	if err != nil {
		t.Fatal(err)
	}
	app, err := db.SyntheticContract(ctx, postgres.SyntheticContractInput{ProgrammeID: p.ID, EnterpriseID: ent.ID,
		CreatedBy: staff.ID, Approved: decimal.RequireFromString("2000000"), SignedOn: now.AddDate(0, 0, -10)})
	if err != nil {
		t.Fatal(err)
	}
	key := func(i int) string { return "drill-key-" + strconv.Itoa(i) + "-0123456789abcdef" }
	a, err := db.RecordAppropriation(ctx, staff, postgres.AppropriationInput{ProgrammeID: p.ID, Amount: decimal.RequireFromString("3000000"),
		ValueDate: now.AddDate(0, 0, -5), Reference: "内财〔2026〕1号", IdempotencyKey: key(1)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApproveAppropriation(ctx, approver, a.ID, key(2)); err != nil {
		t.Fatal(err)
	}
	d, err := db.RecordDisbursement(ctx, staff, applications.DisbursementInput{ApplicationID: app, Tranche: 1,
		Amount: decimal.RequireFromString("1000000"), ValueDate: now.AddDate(0, 0, -1), Reference: "PZ-1", IdempotencyKey: key(3)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApproveDisbursement(ctx, approver, d.ID, key(4)); err != nil {
		t.Fatal(err)
	}
	store, err := blob.NewLocal(filepath.Join(dataDir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	master, _ := hex.DecodeString(drillMasterKey)
	pdf := []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	for i, encrypt := range []bool{false, true} {
		k := blob.NewKey("documents", now.Add(time.Duration(i)*time.Second))
		m, err := blob.Ingest(ctx, store, k, bytes.NewReader(pdf), blob.IngestOptions{Encrypt: encrypt, MasterKey: master,
			Suite: testCrypto(t)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO documents (application_id, item, version, blob_key, filename, content_kind,
			size_bytes, sha256, encrypted, enc_alg, wrapped_key, uploaded_by, uploaded_at)
			VALUES ($1, 'application_form', $2, $3, 'a.pdf', 'pdf', $4, $5, $6, $7, $8, $9, now())`,
			app, i+1, k, m.Size, m.SHA256, m.Encrypted, m.Algorithm, m.WrappedKey, staff.ID); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func TestLedgerVerifyCommand(t *testing.T) {
	url, dir := pgtest.NewURL(t), t.TempDir()
	db := moneyDB(t, url, dir)
	getenv := env(map[string]string{"DATABASE_URL": url, "DATA_DIR": dir, "MASTER_KEY": drillMasterKey})
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"ledger", "verify"}, getenv, nil, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "共 2 张凭证、4 条分录") {
		t.Fatalf("verify: %d %s %s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"blobs", "verify"}, getenv, nil, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "2 个文件") {
		t.Fatalf("blobs verify: %d %s %s", code, out.String(), errb.String())
	}
	out.Reset()
	exportPath := filepath.Join(dir, "journal.csv")
	if code := run(context.Background(), []string{"ledger", "export", "-o", exportPath}, getenv, nil, &out, &errb); code != 0 {
		t.Fatalf("export: %d %s", code, errb.String())
	}
	csv, _ := os.ReadFile(exportPath)
	if !strings.HasPrefix(string(csv), "\uFEFF凭证序号") || !strings.Contains(string(csv), "# 链头: 2 "+testCrypto(t).ChainHash()+":") {
		t.Fatalf("export:\n%s", csv)
	}
	for _, sql := range []string{
		`ALTER TABLE ledger_postings DISABLE TRIGGER ledger_postings_append_only`,
		`UPDATE ledger_postings SET amount = 1.00 WHERE entry_seq = 2 AND line = 1`,
		`ALTER TABLE ledger_postings ENABLE TRIGGER ledger_postings_append_only`,
	} {
		if _, err := db.Pool.Exec(context.Background(), sql); err != nil {
			t.Fatal(err)
		}
	}
	out.Reset()
	code := run(context.Background(), []string{"ledger", "verify"}, getenv, nil, &out, &errb)
	if code != 1 || !strings.Contains(out.String(), "第一张有问题的凭证：第 2 号") || !strings.Contains(out.String(), "此前 1 张凭证完好") {
		t.Fatalf("tampering not reported: %d %s", code, out.String())
	}
}

// pgBinDir finds pg_dump, pg_restore and psql of the test server's major
// version: the Debian directory pglocal also uses, else pg_config's, else
// PATH.
func pgBinDir(t *testing.T, url string) string {
	t.Helper()
	var num int
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pool.QueryRow(context.Background(), `SELECT current_setting('server_version_num')::int`).Scan(&num); err != nil {
		t.Fatal(err)
	}
	candidates := []string{filepath.Join("/usr/lib/postgresql", strconv.Itoa(num/10000), "bin")}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	if p, err := exec.LookPath("pg_dump"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, dir := range candidates {
		ok := true
		for _, b := range []string{"pg_dump", "pg_restore", "psql"} {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				ok = false
			}
		}
		if ok {
			return dir
		}
	}
	msg := "pg_dump/pg_restore/psql not found for PostgreSQL " + strconv.Itoa(num/10000) + ": the backup drill test cannot run"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPED BACKUP DRILL: " + msg)
	return ""
}

// TestBackupDrill runs scripts/backup-drill.sh against a test database:
// dump, blob archive, restore into a fresh database, and the three
// verifications on the copy. A corrupted blob then makes the drill fail.
func TestBackupDrill(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	url, dir := pgtest.NewURL(t), t.TempDir()
	bindir := pgBinDir(t, url)
	moneyDB(t, url, dir)
	bin := filepath.Join(t.TempDir(), "server")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	drill := func() (string, error) {
		cmd := exec.Command("bash", "../../scripts/backup-drill.sh")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "DATA_DIR="+dir, "MASTER_KEY="+drillMasterKey,
			"SERVER="+bin, "PG_BINDIR="+bindir, "BLOB_STORE=", "KEEP_DRILL=", "CRYPTO="+pgtest.Crypto())
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := drill()
	t.Logf("drill output:\n%s", out)
	if err != nil {
		t.Fatalf("drill failed: %v", err)
	}
	for _, want := range []string{"台账校验通过：共 2 张凭证", "审计日志校验通过", "文件校验通过：2 个文件", "演练通过"} {
		if !strings.Contains(out, want) {
			t.Errorf("drill output lacks %q", want)
		}
	}

	t.Run("CorruptBlobFailsTheDrill", func(t *testing.T) {
		var victim string
		_ = filepath.Walk(filepath.Join(dir, "blobs"), func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && victim == "" {
				victim = p
			}
			return nil
		})
		b, err := os.ReadFile(victim)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)-3] ^= 0xff
		if err := os.WriteFile(victim, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := drill()
		if err == nil || !strings.Contains(out, "文件校验失败") {
			t.Fatalf("drill passed over a corrupt blob:\n%s", out)
		}
	})
}

package postgres

import (
	"context"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/ledger"
	"ite/internal/postgres/pgtest"
)

// Ledger export benchmarks against PostgreSQL (see docs/PERFORMANCE.md,
// "Ledger exports against PostgreSQL"):
//
//	go test ./internal/postgres -run '^$' -bench 'LedgerExport|LedgerVerify' -benchtime 1x
//
// By default each run loads a synthetic ledger of LEDGER_BENCH_POSTINGS
// postings (100,000) into a fresh test database with LoadSyntheticLedger
// (COPY). LEDGER_BENCH_URL points the benchmarks at an existing database
// instead, e.g. one filled by `server ledger synthetic -postings 1000000`.

func benchLedgerDB(b *testing.B) *DB {
	b.Helper()
	ctx := context.Background()
	if url := os.Getenv("LEDGER_BENCH_URL"); url != "" {
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(pool.Close)
		return New(pool)
	}
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("LEDGER_BENCH_POSTINGS")); err == nil && v > 1 {
		n = v
	}
	db := New(pgtest.NewDB(b))
	sys := audit.Actor{Name: "bench"}
	mk := func(name string, role applications.Role) int64 {
		u, err := db.CreateUser(ctx, sys, NewUser{Username: name, DisplayName: name, Role: role, PasswordHash: "!"})
		if err != nil {
			b.Fatal(err)
		}
		return u.ID
	}
	maker, checker := mk("maker", applications.RoleStaff), mk("checker", applications.RoleApprover)
	p := applications.NewProgramme(2026, time.Now())
	p.Name, p.TotalBudget = "bench", dec("1000000000000")
	p, err := db.CreateProgramme(ctx, sys, p)
	if err != nil {
		b.Fatal(err)
	}
	ent, err := db.CreateEnterprise(ctx, sys, "bench", applications.ExampleUSCC(3))
	if err != nil {
		b.Fatal(err)
	}
	var apps []int64
	for range 10 {
		id, err := db.SyntheticContract(ctx, SyntheticContractInput{ProgrammeID: p.ID, EnterpriseID: ent.ID, CreatedBy: maker,
			Approved: dec("100000000000")})
		if err != nil {
			b.Fatal(err)
		}
		apps = append(apps, id)
	}
	if err := db.LoadSyntheticLedger(ctx, SyntheticLedgerInput{ProgrammeID: p.ID, Projects: apps, MakerID: maker,
		CheckerID: checker, Postings: n, ValueDate: time.Now()}); err != nil {
		b.Fatal(err)
	}
	return db
}

func benchExport(b *testing.B, f ledger.Format) {
	db := benchLedgerDB(b)
	ctx := context.Background()
	b.ResetTimer()
	var rows int64
	for b.Loop() {
		rows = 0
		rw, err := ledger.NewRowWriter(f, io.Discard, ledger.JournalTable)
		if err != nil {
			b.Fatal(err)
		}
		row := make([]ledger.Value, 0, len(ledger.JournalTable.Columns))
		head, err := db.ExportJournal(ctx, JournalFilter{}, func(e *ledger.Entry, p ledger.Posting) error {
			rows++
			row = ledger.AppendJournalRow(row[:0], e, p)
			return rw.WriteRow(row...)
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := rw.Close(head); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(max(rows, 1)), "ns/row")
}

func BenchmarkLedgerExportCSV(b *testing.B)  { benchExport(b, ledger.FormatCSV) }
func BenchmarkLedgerExportXLSX(b *testing.B) { benchExport(b, ledger.FormatXLSX) }

func BenchmarkLedgerVerify(b *testing.B) {
	db := benchLedgerDB(b)
	b.ResetTimer()
	var n int64
	for b.Loop() {
		v, err := db.VerifyLedger(context.Background())
		if err != nil || !v.OK {
			b.Fatal(err, v.Problem)
		}
		n = v.Entries
	}
	b.ReportMetric(float64(n), "entries")
}

package seed

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"ite/internal/applications"
	"ite/internal/blob"
	"ite/internal/ledger"
	"ite/internal/postgres"
	"ite/internal/postgres/pgtest"
)

// TestDemoWorld builds the demo of `make run` against the real present
// and checks what issue 13 asks of it: every state of DOMAIN §4, an
// expert pool that can fill a panel in any sector, an approved
// appropriation, a notice still running, a ledger that balances and
// verifies, an audit chain that verifies, and a second run that adds
// nothing.
func TestDemoWorld(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := postgres.New(pgtest.NewDB(t))
	store, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	opts := DemoOptions{PasswordParams: fastParams, Blobs: store, MasterKey: masterKey}
	began := time.Now()
	logins, err := DemoWorld(ctx, db, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("demo built in %s", time.Since(began).Round(time.Millisecond))
	if db.Now == nil || time.Since(db.Now()) > time.Minute {
		t.Fatal("DemoWorld left the store's clock in the past")
	}

	t.Run("LoginsForEveryRole", func(t *testing.T) {
		for _, r := range applications.AllRoles() {
			if !slices.ContainsFunc(logins, func(l Login) bool { return l.Role == r }) {
				t.Errorf("no demo login for %s", r)
			}
		}
	})

	apps, err := db.ListApplications(ctx, postgres.QueueFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	byState := map[applications.State]applications.Application{}
	for _, a := range apps {
		byState[a.State] = a
	}
	t.Run("EveryStateOfTheLifecycle", func(t *testing.T) {
		if len(apps) != len(DemoCases) {
			t.Errorf("%d applications, want %d", len(apps), len(DemoCases))
		}
		for _, s := range applications.AllStates() {
			if _, ok := byState[s]; !ok {
				t.Errorf("no demo application in state %s", s)
			}
		}
		for _, c := range DemoCases {
			if a, ok := byState[c.State]; !ok || a.Title != c.Title {
				t.Errorf("state %s: want %q, have %q", c.State, c.Title, a.Title)
			}
		}
	})

	t.Run("HistoriesFollowTheStateMachineInThePast", func(t *testing.T) {
		for _, a := range apps {
			tl, err := db.Timeline(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(tl) == 0 || tl[0].To != applications.StateDraft {
				t.Fatalf("%s: timeline %v", a.Title, tl)
			}
			for i, tr := range tl[1:] {
				if err := applications.Transition(tr.From, tr.To); err != nil || tr.From != tl[i].To || tr.At.Before(tl[i].At) {
					t.Fatalf("%s: step %d %s→%s at %s: %v", a.Title, i+1, tr.From, tr.To, tr.At, err)
				}
			}
			if last := tl[len(tl)-1]; last.To != a.State || !last.At.Before(time.Now()) {
				t.Fatalf("%s in %s: timeline ends %s at %s", a.Title, a.State, last.To, last.At)
			}
		}
	})

	t.Run("ExpertsCoverEverySector", func(t *testing.T) {
		xs, err := db.ListExperts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		active := 0
		perSector := map[applications.Sector]int{}
		for _, x := range xs {
			if x.Active {
				active++
				for _, s := range x.Sectors {
					perSector[s]++
				}
			}
		}
		if active < 6 {
			t.Errorf("%d enabled experts", active)
		}
		for _, s := range applications.AllSectors() {
			if perSector[s] < 6 { // a panel of five and a replacement
				t.Errorf("sector %s: %d experts", s, perSector[s])
			}
		}
	})

	t.Run("FundHoldsAnApprovedAppropriation", func(t *testing.T) {
		aps, err := db.ListAppropriations(ctx, postgres.AppropriationFilter{Status: "approved", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(aps) == 0 {
			t.Fatal("no approved appropriation")
		}
		for _, ap := range aps {
			if ap.PreparedBy == ap.CheckedBy || ap.EntrySeq == 0 {
				t.Errorf("appropriation %d: maker %d checker %d entry %d", ap.ID, ap.PreparedBy, ap.CheckedBy, ap.EntrySeq)
			}
		}
		funds, err := db.ListFunds(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range funds {
			if !f.Balance.IsPositive() {
				t.Errorf("fund of %s holds %s", f.Programme, f.Balance)
			}
		}
	})

	t.Run("NoticeStillRunning", func(t *testing.T) {
		notices, err := db.ListCurrentNotices(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(notices) != 1 || notices[0].ID != byState[applications.StateApproved].ID {
			t.Fatalf("current notices %v", notices)
		}
	})

	t.Run("ProgressReportsAccepted", func(t *testing.T) {
		rs, err := db.ListReports(ctx, postgres.ReportFilter{Status: applications.ReportAccepted, Limit: 200})
		if err != nil || len(rs) < 5 {
			t.Fatalf("%d accepted progress reports, %v", len(rs), err)
		}
		t.Logf("%d progress reports accepted", len(rs))
	})

	t.Run("TheAppsJobsChangeNothing", func(t *testing.T) {
		// What the server's periodic jobs do at the real present.
		if n, err := db.EvaluateLapses(ctx); err != nil || n != 0 {
			t.Errorf("lapses %d %v", n, err)
		}
		if n, err := db.CloseEndedNotices(ctx); err != nil || n != 0 {
			t.Errorf("notices closed %d %v", n, err)
		}
	})

	t.Run("LedgerBalancesAndVerifies", func(t *testing.T) {
		v, err := db.VerifyLedger(ctx)
		if err != nil || !v.OK {
			t.Fatalf("ledger verify: %+v %v", v, err)
		}
		if v.Entries < 20 || !v.Debit.Equal(v.Credit) {
			t.Fatalf("%d entries, debits %s credits %s", v.Entries, v.Debit, v.Credit)
		}
		tb, _, err := db.TrialBalance(ctx, postgres.TrialFilter{})
		if err != nil {
			t.Fatal(err)
		}
		dr, cr := tb.Totals()
		if err := tb.Check(); err != nil || !dr.Equal(cr) || !dr.IsPositive() {
			t.Fatalf("trial balance: debits %s credits %s: %v", dr, cr, err)
		}
		// Every kind of entry of DOMAIN §11 is there.
		for _, code := range []string{"1002", "1221", "1511", "1131", "3001", "6111", "6711", "6401"} {
			if !slices.ContainsFunc(tb.Lines(), func(b ledger.Balance) bool { return string(b.Account.Code) == code }) {
				t.Errorf("no postings to %s", code)
			}
		}
	})

	auditRows, err := db.VerifyAudit(ctx)
	t.Run("AuditChainVerifies", func(t *testing.T) {
		if err != nil || auditRows < 100 {
			t.Fatalf("audit: %d rows, %v", auditRows, err)
		}
	})

	t.Run("AuditLogReadsInTimeOrder", func(t *testing.T) {
		// Newest first, 500 a page: each row is no later than the one
		// before it in the listing, and none is in the future.
		prev, before, rows := time.Now(), int64(0), 0
		for {
			recs, err := db.ListAudit(ctx, postgres.AuditFilter{BeforeSeq: before, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				if r.At.After(prev) {
					t.Fatalf("audit row %d (%s) at %s, after row %d at %s", r.Seq, r.Event, r.At, r.Seq+1, prev)
				}
				prev, before = r.At, r.Seq
				rows++
			}
			if len(recs) < 500 {
				break
			}
		}
		if int64(rows) != auditRows {
			t.Fatalf("listed %d audit rows, verified %d", rows, auditRows)
		}
	})

	t.Run("SecondRunAddsNothing", func(t *testing.T) {
		again, err := DemoWorld(ctx, db, opts)
		if err != nil || len(again) != len(logins) {
			t.Fatalf("second run: %d logins, %v", len(again), err)
		}
		after, _ := db.ListApplications(ctx, postgres.QueueFilter{Limit: 200})
		rows, _ := db.VerifyAudit(ctx)
		if len(after) != len(apps) || rows != auditRows {
			t.Fatalf("second run: %d applications (was %d), %d audit rows (was %d)", len(after), len(apps), rows, auditRows)
		}
	})

	t.Run("RefusedInProduction", func(t *testing.T) {
		if _, err := DemoWorld(ctx, db, DemoOptions{Production: true}); !errors.Is(err, ErrProduction) {
			t.Fatalf("err %v", err)
		}
	})
}

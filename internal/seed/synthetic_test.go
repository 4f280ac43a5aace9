package seed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"ite/internal/applications"
	"ite/internal/auth"
	"ite/internal/blob"
	"ite/internal/postgres"
	"ite/internal/postgres/pgtest"
	"ite/internal/suite"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var fastParams = auth.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

var masterKey = []byte("synthetic-master-key-32-bytes!!!")

func TestSynthetic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := postgres.New(pgtest.NewDB(t))
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	store, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The demo data first: synthetic data must live beside it.
	if _, err := Demo(ctx, db, false, fastParams); err != nil {
		t.Fatal(err)
	}
	auditBefore, _ := db.VerifyAudit(ctx)
	const n = 150
	// Sealed as the test databases' CRYPTO says (ITE_TEST_CRYPTO=gm: SM4).
	crypto, err := suite.Parse(pgtest.Crypto())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Synthetic(ctx, db, SyntheticOptions{N: n, Blobs: store, MasterKey: masterKey, Crypto: crypto,
		PasswordParams: fastParams, Batch: 40})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Applications != n || rep.Enterprises != n/3 || len(rep.Programmes) != 2 || rep.Documents < 4*n {
		t.Fatalf("report %+v", rep)
	}

	t.Run("EveryStateOfTheLifecycle", func(t *testing.T) {
		for _, s := range []applications.State{applications.StateDraft, applications.StateSubmitted, applications.StateReturned,
			applications.StateUnderReview, applications.StateRejected, applications.StateWithdrawn} {
			if rep.States[s] == 0 {
				t.Errorf("no application in state %s: %v", s, rep.States)
			}
		}
	})

	apps, err := db.ListApplications(ctx, postgres.QueueFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	synthetic := apps
	if len(synthetic) != n {
		t.Fatalf("queue lists %d applications", len(synthetic))
	}

	t.Run("HistoriesFollowTheStateMachine", func(t *testing.T) {
		for _, a := range synthetic {
			tl, err := db.Timeline(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(tl) == 0 || tl[0].From != "" || tl[0].To != applications.StateDraft {
				t.Fatalf("application %d: timeline starts %v", a.ID, tl)
			}
			for i, tr := range tl[1:] {
				if err := applications.Transition(tr.From, tr.To); err != nil || tr.From != tl[i].To || tr.At.Before(tl[i].At) {
					t.Fatalf("application %d: step %d %s→%s at %s: %v", a.ID, i+1, tr.From, tr.To, tr.At, err)
				}
			}
			if last := tl[len(tl)-1]; last.To != a.State || !last.At.Equal(a.StateChangedAt) || a.StateChangedAt.After(now) {
				t.Fatalf("application %d in %s changed %s, timeline ends %s at %s", a.ID, a.State, a.StateChangedAt, last.To, last.At)
			}
			full, err := db.FindApplication(ctx, a.ID) // lists leave out the content body
			if err != nil {
				t.Fatal(err)
			}
			if err := full.ValidateDraft(mustProgramme(t, db, a.ProgrammeID)); err != nil {
				t.Fatalf("application %d content: %v", a.ID, err)
			}
		}
	})

	t.Run("ChecklistsMatchTheStates", func(t *testing.T) {
		for _, a := range synthetic {
			p, err := db.FindProgramme(ctx, a.ProgrammeID)
			if err != nil {
				t.Fatal(err)
			}
			items, err := db.Checklist(ctx, a, p)
			if err != nil {
				t.Fatal(err)
			}
			var returnedItems int
			for _, it := range items {
				if it.Status == applications.MaterialReturned {
					returnedItems++
					if it.Reason == "" {
						t.Errorf("application %d: %s returned without a reason", a.ID, it.Material)
					}
				}
			}
			switch a.State {
			case applications.StateSubmitted:
				if err := applications.CheckSubmittable(items); err != nil {
					t.Errorf("application %d submitted with: %v", a.ID, err)
				}
			case applications.StateReturned:
				if returnedItems == 0 {
					t.Errorf("application %d returned with no item returned", a.ID)
				}
			case applications.StateUnderReview:
				if err := applications.CheckReviewOutcome(items, true); err != nil {
					t.Errorf("application %d under review with: %v", a.ID, err)
				}
			}
		}
	})

	t.Run("DocumentsStoredThroughIngest", func(t *testing.T) {
		wantAlg := blob.AlgorithmChunkedV1
		if crypto.IsGM() {
			wantAlg = blob.AlgorithmSM4ChunkedV1
		}
		seen := 0
		for _, a := range synthetic {
			docs, err := db.ListDocuments(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range docs {
				seen++
				if d.Item.Sensitive() != d.Encrypted {
					t.Fatalf("document %d (%s): encrypted=%v", d.ID, d.Item, d.Encrypted)
				}
				if d.Encrypted && d.EncAlg != wantAlg {
					t.Fatalf("document %d (%s) sealed with %q under CRYPTO=%s", d.ID, d.Item, d.EncAlg, crypto)
				}
				wantKind := "pdf"
				if d.Item.Field() == applications.FieldIDOnItem {
					wantKind = "png"
				}
				if d.Kind != wantKind {
					t.Fatalf("document %d (%s) is %s", d.ID, d.Item, d.Kind)
				}
				rc, err := blob.OpenDecrypted(ctx, store, d.BlobKey, blob.Meta{Size: d.Size, SHA256: d.SHA256, Kind: d.Kind,
					Encrypted: d.Encrypted, Algorithm: d.EncAlg, WrappedKey: d.WrappedKey}, masterKey)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(rc) // verifies size and SHA-256
				rc.Close()
				if err != nil {
					t.Fatalf("document %d: %v", d.ID, err)
				}
				if kind, ok := blob.Sniff(body); !ok || kind != d.Kind {
					t.Fatalf("document %d sniffs as %q", d.ID, kind)
				}
				switch d.Item.Field() {
				case applications.FieldUSCCOnItem:
					if d.USCC != a.EnterpriseUSCC || applications.ValidateUSCC(d.USCC) != nil {
						t.Fatalf("licence of %d carries %q, enterprise %q", a.ID, d.USCC, a.EnterpriseUSCC)
					}
				case applications.FieldIDOnItem:
					id, err := blob.OpenValue(masterKey, d.IDCipher)
					if err != nil || applications.ValidateIDNumber(string(id)) != nil || applications.MaskIDNumber(string(id)) != d.IDMasked {
						t.Fatalf("ID on %d: %q masked %q: %v", d.ID, id, d.IDMasked, err)
					}
				case applications.FieldIssueOnItem:
					if age := d.UploadedAt.Sub(d.IssueDate); age < 0 || age > 91*24*time.Hour {
						t.Fatalf("credit report %d issued %s, uploaded %s", d.ID, d.IssueDate, d.UploadedAt)
					}
				}
			}
		}
		if seen != rep.Documents {
			t.Fatalf("%d document rows, report says %d", seen, rep.Documents)
		}
	})

	t.Run("OneAuditRowForTheRun", func(t *testing.T) {
		after, err := db.VerifyAudit(ctx)
		if err != nil || after != auditBefore+1 {
			t.Fatalf("audit rows %d → %d (%v)", auditBefore, after, err)
		}
		recs, _ := db.ListAudit(ctx, postgres.AuditFilter{Limit: 1})
		if recs[0].Event != "synthetic_seed" || !bytes.Contains(recs[0].Detail, []byte(`"applications": 150`)) {
			t.Fatalf("last audit row %s %s", recs[0].Event, recs[0].Detail)
		}
	})

	t.Run("SyntheticUserSignsIn", func(t *testing.T) {
		u, res, err := db.Login(ctx, seedActor, fmt.Sprintf("syn%07d", synthetic[0].EnterpriseID), func(hash string) bool {
			ok, _ := auth.VerifyPassword(DemoPassword, hash)
			return ok
		})
		if err != nil || u.EnterpriseID != synthetic[0].EnterpriseID {
			t.Fatalf("login %+v %v %v", u, res, err)
		}
	})

	t.Run("SecondRunAddsMore", func(t *testing.T) {
		rep2, err := Synthetic(ctx, db, SyntheticOptions{N: 7, NoDocuments: true, PasswordParams: fastParams, Seed: 2})
		if err != nil || rep2.Applications != 7 || rep2.Documents != 0 {
			t.Fatalf("second run %+v %v", rep2, err)
		}
		all, _ := db.ListApplications(ctx, postgres.QueueFilter{Limit: 200})
		if len(all) != n+7 {
			t.Fatalf("%d applications after the second run", len(all))
		}
	})

	t.Run("RefusedInProduction", func(t *testing.T) {
		if _, err := Synthetic(ctx, db, SyntheticOptions{N: 1, Production: true, NoDocuments: true}); !errors.Is(err, ErrProduction) {
			t.Fatalf("err %v", err)
		}
	})
}

func mustProgramme(t *testing.T, db *postgres.DB, id int64) applications.Programme {
	t.Helper()
	p, err := db.FindProgramme(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSyntheticFiles(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	pdf := syntheticPDF([]string{"hello (world)", "中文被略去", `back\slash`})
	if kind, ok := blob.Sniff(pdf); !ok || kind != blob.KindPDF || len(pdf) > 1200 {
		t.Fatalf("pdf: %q %d bytes", kind, len(pdf))
	}
	if !bytes.Contains(pdf, []byte(`(hello \(world\)) '`)) || !bytes.Contains(pdf, []byte(`(back\\slash) '`)) {
		t.Fatalf("pdf text not escaped:\n%s", pdf)
	}
	a, b := syntheticPNG(r), syntheticPNG(r)
	if kind, ok := blob.Sniff(a); !ok || kind != blob.KindPNG || len(a) > 1500 || bytes.Equal(a, b) {
		t.Fatalf("png: %q %d bytes, distinct %v", kind, len(a), !bytes.Equal(a, b))
	}
}

func TestPathsFollowTheStateMachine(t *testing.T) {
	total := 0
	for _, p := range paths {
		total += p.weight
		if p.states[0] != applications.StateDraft {
			t.Errorf("path %v does not start as a draft", p.states)
		}
		for i := 1; i < len(p.states); i++ {
			if err := applications.Transition(p.states[i-1], p.states[i]); err != nil {
				t.Errorf("path %v: %v", p.states, err)
			}
		}
	}
	if total != 100 {
		t.Errorf("weights add up to %d", total)
	}
}

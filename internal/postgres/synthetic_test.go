package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/postgres/pgtest"
)

func TestSyntheticBulkLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := New(pgtest.NewDB(t))
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }

	p := applications.NewProgramme(2026, now)
	p.Name, p.Status, p.TotalBudget = "合成批次", applications.ProgrammeOpen, decimal.RequireFromString("50000000.00")
	ps, err := db.InsertSyntheticProgrammes(ctx, []applications.Programme{p})
	if err != nil || len(ps) != 1 || ps[0].ID == 0 {
		t.Fatalf("programmes %v %v", ps, err)
	}
	entIDs, err := db.ReserveIDs(ctx, SeqEnterprises, 2)
	if err != nil || len(entIDs) != 2 || entIDs[0] == entIDs[1] {
		t.Fatalf("reserve %v %v", entIDs, err)
	}
	userIDs, _ := db.ReserveIDs(ctx, SeqUsers, 3)
	uscc := applications.ExampleUSCC(12_345_678)
	es := []SyntheticEnterprise{
		{ID: entIDs[0], Profile: applications.EnterpriseProfile{Name: "甲公司", USCC: uscc, RegisteredCapital: decimal.NewFromInt(1_000_000),
			FoundedOn: now.AddDate(-5, 0, 0), ContactMobile: "13800001111"}, CreatedAt: now},
		{ID: entIDs[1], Profile: applications.EnterpriseProfile{Name: "乙公司", USCC: applications.ExampleUSCC(12_345_679),
			RegisteredCapital: decimal.NewFromInt(2_000_000), FoundedOn: now.AddDate(-3, 0, 0)}, CreatedAt: now},
	}
	us := []SyntheticUser{
		{ID: userIDs[0], Username: "syntest1", DisplayName: "甲", Role: applications.RoleEnterprise, PasswordHash: "x", EnterpriseID: entIDs[0], CreatedAt: now},
		{ID: userIDs[1], Username: "syntest2", DisplayName: "乙", Role: applications.RoleEnterprise, PasswordHash: "x", EnterpriseID: entIDs[1], CreatedAt: now},
		{ID: userIDs[2], Username: "synstaff", DisplayName: "丙", Role: applications.RoleStaff, PasswordHash: "x", CreatedAt: now},
	}
	if err := db.InsertSyntheticEnterprises(ctx, es, us); err != nil {
		t.Fatal(err)
	}
	t.Run("TakenNamesFindsCodesAndUsernames", func(t *testing.T) {
		taken, err := db.TakenNames(ctx, []string{uscc, applications.ExampleUSCC(1)}, []string{"syntest2", "nobody"})
		if err != nil || len(taken) != 2 || !taken[uscc] || !taken["syntest2"] {
			t.Fatalf("taken %v %v", taken, err)
		}
	})
	t.Run("StaffListed", func(t *testing.T) {
		staff, err := db.ListStaffMembers(ctx)
		if err != nil || len(staff) != 1 || staff[0].ID != userIDs[2] {
			t.Fatalf("staff %v %v", staff, err)
		}
	})

	appIDs, _ := db.ReserveIDs(ctx, SeqApplications, 1)
	docIDs, _ := db.ReserveIDs(ctx, SeqDocuments, 2)
	amount := decimal.RequireFromString("1234567.89")
	a := applications.Application{ID: appIDs[0], ProgrammeID: ps[0].ID, EnterpriseID: entIDs[0], Title: "合成项目",
		Sector: applications.SectorAI, RequestedAmount: amount, LeadName: "丁", LeadMobile: "13900002222",
		Content: applications.Content{Summary: "概述", Budget: []applications.BudgetLine{{Item: "设备", Amount: amount}}},
		State:   applications.StateReturned, LiaisonID: userIDs[2], Version: 3,
		StateChangedAt: now.Add(-time.Hour), SubmittedAt: now.Add(-2 * time.Hour), CreatedAt: now.Add(-3 * time.Hour), UpdatedAt: now.Add(-time.Hour)}
	issued := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	sa := SyntheticApplication{App: a, CreatedBy: userIDs[0],
		Transitions: []SyntheticTransition{
			{To: applications.StateDraft, ActorID: userIDs[0], ActorName: "甲", ActorRole: applications.RoleEnterprise, At: a.CreatedAt},
			{From: applications.StateDraft, To: applications.StateSubmitted, ActorID: userIDs[0], ActorName: "甲", ActorRole: applications.RoleEnterprise, At: a.SubmittedAt},
			{From: applications.StateSubmitted, To: applications.StateReturned, ActorID: userIDs[2], ActorName: "丙", ActorRole: applications.RoleStaff, Reason: "补正", At: a.StateChangedAt},
		},
		Documents: []applications.Document{
			{ID: docIDs[0], ApplicationID: a.ID, Item: applications.MaterialBusinessLicense, Version: 1, BlobKey: "docs/2026/11/synthetic-a",
				Filename: "营业执照.pdf", Kind: "pdf", Size: 300, SHA256: "00", USCC: uscc, UploadedBy: userIDs[0], UploadedAt: a.CreatedAt},
			{ID: docIDs[1], ApplicationID: a.ID, Item: applications.MaterialEnterpriseCreditReport, Version: 1, BlobKey: "docs/2026/11/synthetic-b",
				Filename: "征信.pdf", Kind: "pdf", Size: 300, SHA256: "00", Encrypted: true, EncAlg: "x", WrappedKey: []byte{1, 2},
				IssueDate: issued, UploadedBy: userIDs[0], UploadedAt: a.CreatedAt},
		},
		Reviews: []SyntheticReview{
			{Item: applications.MaterialBusinessLicense, DocumentID: docIDs[0], Accepted: true, ReviewerID: userIDs[2], At: a.StateChangedAt},
			{Item: applications.MaterialEnterpriseCreditReport, DocumentID: docIDs[1], Reason: "不清晰", ReviewerID: userIDs[2], At: a.StateChangedAt},
		},
	}
	if err := db.InsertSyntheticApplications(ctx, []SyntheticApplication{sa}); err != nil {
		t.Fatal(err)
	}
	if err := db.VacuumSynthetic(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("ApplicationReadsBack", func(t *testing.T) {
		got, err := db.FindApplication(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != applications.StateReturned || !got.RequestedAmount.Equal(amount) || got.EnterpriseUSCC != uscc ||
			got.LiaisonID != userIDs[2] || !got.SubmittedAt.Equal(a.SubmittedAt) || got.Content.Budget[0].Item != "设备" {
			t.Fatalf("read back %+v", got)
		}
	})
	t.Run("ChecklistShowsTheReturn", func(t *testing.T) {
		got, _ := db.FindApplication(ctx, a.ID)
		p, err := db.FindProgramme(ctx, got.ProgrammeID)
		if err != nil {
			t.Fatal(err)
		}
		items, err := db.Checklist(ctx, got, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			switch it.Material {
			case applications.MaterialBusinessLicense:
				if it.Status != applications.MaterialAccepted || it.Current.USCC != uscc {
					t.Errorf("licence %+v", it)
				}
			case applications.MaterialEnterpriseCreditReport:
				if it.Status != applications.MaterialReturned || it.Reason != "不清晰" || !it.Current.IssueDate.Equal(issued) || !it.Current.Encrypted {
					t.Errorf("credit report %+v", it)
				}
			}
		}
	})
	t.Run("TimelineInOrder", func(t *testing.T) {
		tl, err := db.Timeline(ctx, a.ID)
		if err != nil || len(tl) != 3 || tl[2].To != applications.StateReturned || tl[2].Reason != "补正" {
			t.Fatalf("timeline %v %v", tl, err)
		}
	})
	t.Run("BlobKeysReferenced", func(t *testing.T) {
		refs, err := db.ReferencedBlobs(ctx, []string{"docs/2026/11/synthetic-a", "docs/2026/11/other"})
		if err != nil || !refs["docs/2026/11/synthetic-a"] || refs["docs/2026/11/other"] {
			t.Fatalf("refs %v %v", refs, err)
		}
	})
	t.Run("OrdinaryInsertsAfterBulkLoad", func(t *testing.T) {
		// The reserved ids came from the identity sequences, so rows
		// inserted the ordinary way never collide with bulk-loaded ones.
		e, err := db.CreateEnterprise(ctx, audit.Actor{Name: "test"}, "丙公司", applications.ExampleUSCC(12_345_680))
		if err != nil || e.ID <= entIDs[1] {
			t.Fatalf("enterprise %+v %v", e, err)
		}
	})
	t.Run("BatchIsAllOrNothing", func(t *testing.T) {
		ids, _ := db.ReserveIDs(ctx, SeqApplications, 1)
		bad := sa
		bad.App.ID = ids[0]
		bad.Transitions = nil
		bad.Reviews = nil
		bad.Documents = []applications.Document{sa.Documents[0]} // duplicate blob key and id
		if err := db.InsertSyntheticApplications(ctx, []SyntheticApplication{bad}); err == nil {
			t.Fatal("duplicate document accepted")
		}
		if _, err := db.FindApplication(ctx, ids[0]); applications.ErrorKind(err) != applications.NotFound {
			t.Fatalf("application of the failed batch was written: %v", err)
		}
	})
}

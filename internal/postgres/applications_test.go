package postgres

import (
	"testing"

	"ite/internal/applications"
)

// TestListedApplicationsMatchFind pins the lists' narrow columns
// (appListColumns): every field a list shows reads as FindApplication reads
// it, including a liaison's name and the keyset cursor's time.
func TestListedApplicationsMatchFind(t *testing.T) {
	w := newMoneyWorld(t)
	withLiaison, plain := w.contract("1000000.00"), w.contract("2500000.50")
	if err := w.db.SetLiaison(w.ctx, w.staff, withLiaison, w.staff2.ID); err != nil {
		t.Fatal(err)
	}
	listed, err := w.db.ListApplications(w.ctx, QueueFilter{EnterpriseID: w.entID})
	if err != nil || len(listed) != 2 {
		t.Fatalf("listed %d, %v", len(listed), err)
	}
	for _, l := range listed {
		full, err := w.db.FindApplication(w.ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		shown := func(a applications.Application) []any {
			return []any{a.ID, a.ProgrammeID, a.Programme, a.EnterpriseID, a.Enterprise, a.EnterpriseUSCC, a.Title,
				a.Sector, a.RequestedAmount.String(), a.State, a.LiaisonID, a.Liaison, a.StateChangedAt.UnixMicro()}
		}
		got, want := shown(l), shown(full)
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("application %d field %d: listed %v, found %v", l.ID, i, got[i], want[i])
			}
		}
		if full.Liaison == "" && l.ID == withLiaison || full.Liaison != "" && l.ID == plain {
			t.Errorf("application %d: liaison %q", l.ID, full.Liaison)
		}
	}
}

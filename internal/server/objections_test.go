package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
)

// approvedInNotice makes an application approved by an approver, its
// public notice running.
func (e *env) approvedInNotice() int64 {
	e.t.Helper()
	ctx := context.Background()
	p := e.openProgramme()
	id := e.reviewed(p, "5000000.00")
	did, err := e.db.PrepareDecision(ctx, audit.Actor{ID: e.users[applications.RoleStaff].ID}, id, applications.DecisionInput{Approve: true,
		Amount: decimal.RequireFromString("5000000"), Terms: p.TermsTemplate})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.ApproveDecision(ctx, audit.Actor{ID: e.users[applications.RoleApprover].ID}, did); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func TestObjectionUpheld(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id := e.approvedInNotice()
	staffU, apprU := e.users[applications.RoleStaff], e.users[applications.RoleApprover]
	a, _ := e.db.FindApplication(ctx, id)
	c := e.loggedIn(applications.RoleStaff)
	path := "/applications/" + strconv.FormatInt(id, 10)
	c.get(path)
	if r := c.post(path+"/objections", url.Values{"received_on": {a.NoticeStartsOn.Format(time.DateOnly)}, "body": {"申报材料中的专利已转让"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("record %d %s", r.StatusCode, r.body)
	}
	t.Run("OpenObjectionBlocksClosing", func(t *testing.T) {
		e.clock.Advance(20 * 24 * time.Hour)
		if n, _ := e.db.CloseEndedNotices(ctx); n != 0 {
			t.Fatal("notice closed with an objection open")
		}
	})
	c = e.loggedIn(applications.RoleStaff) // the clock jump ended the session
	c.get(path)
	obs, _ := e.db.ListObjections(ctx, id)
	oid := "/objections/" + strconv.FormatInt(obs[0].ID, 10)
	state := func() applications.State {
		a, _ := e.db.FindApplication(ctx, id)
		return a.State
	}
	t.Run("StaffOnlyProposes", func(t *testing.T) {
		if r := c.post(oid+"/resolve", url.Values{"uphold": {"1"}, "resolution": {"经核实属实"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("propose %d", r.StatusCode)
		}
		if st := state(); st != applications.StateApproved {
			t.Fatalf("state %s after staff's proposal, want approved until an approver approves", st)
		}
		if obs, _ := e.db.ListObjections(ctx, id); obs[0].Status != "proposed" {
			t.Fatalf("objection %s", obs[0].Status)
		}
		if r := c.post(oid+"/approve", nil); r.StatusCode != http.StatusForbidden {
			t.Fatalf("staff approving: %d, want 403", r.StatusCode)
		}
		if n, _ := e.db.CloseEndedNotices(ctx); n != 0 {
			t.Fatal("notice closed with an uphold awaiting approval")
		}
	})
	t.Run("ProposerCannotApprove", func(t *testing.T) {
		// An approver who proposed it (through the store: the route is
		// staff's) is refused as its checker.
		if err := e.db.SendBackObjection(ctx, audit.Actor{ID: apprU.ID}, obs[0].ID, "请补充证据"); err != nil {
			t.Fatal(err)
		}
		if err := e.db.ResolveObjection(ctx, audit.Actor{ID: apprU.ID}, obs[0].ID, true, "经核实属实"); err != nil {
			t.Fatal(err)
		}
		ap := e.loggedIn(applications.RoleApprover)
		ap.get(path)
		if r := ap.post(oid+"/approve", nil); r.StatusCode != http.StatusForbidden {
			t.Fatalf("self-approval %d, want 403", r.StatusCode)
		}
		if st := state(); st != applications.StateApproved {
			t.Fatalf("state %s", st)
		}
	})
	t.Run("ApproverApprovesAndTheApplicationIsRejected", func(t *testing.T) {
		// Sent back (by another checker), proposed again by staff, then
		// approved by the approver.
		if err := e.db.SendBackObjection(ctx, audit.Actor{ID: staffU.ID}, obs[0].ID, "由经办人重新拟定"); err != nil {
			t.Fatal(err)
		}
		if r := c.post(oid+"/resolve", url.Values{"uphold": {"1"}, "resolution": {"经核实属实"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("propose %d", r.StatusCode)
		}
		ap := e.loggedIn(applications.RoleApprover)
		page := ap.get(path).doc(t)
		if page.Find(`form[action="`+oid+`/approve"]`).Length() != 1 {
			t.Fatal("the approver is not offered the approval")
		}
		if r := ap.post(oid+"/approve", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("approve %d %s", r.StatusCode, r.body)
		}
		if st := state(); st != applications.StateRejected {
			t.Fatalf("state %s", st)
		}
		if n := e.countRows(`SELECT count(*) FROM audit_log WHERE event = 'objection_approve' AND outcome = 'success'`); n != 1 {
			t.Fatalf("%d approval audit rows", n)
		}
		if n := e.countRows(`SELECT count(*) FROM audit_log WHERE event = 'objection_approve' AND outcome = 'refused'`); n != 1 {
			t.Fatalf("%d refused self-approval audit rows, want 1", n)
		}
	})
}

func TestObjectionDismissedByStaff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id := e.approvedInNotice()
	a, _ := e.db.FindApplication(ctx, id)
	if err := e.db.RecordObjection(ctx, audit.Actor{ID: e.users[applications.RoleStaff].ID}, id, a.NoticeStartsOn, "无依据"); err != nil {
		t.Fatal(err)
	}
	obs, _ := e.db.ListObjections(ctx, id)
	c := e.loggedIn(applications.RoleStaff)
	c.get("/applications/" + strconv.FormatInt(id, 10))
	if r := c.post("/objections/"+strconv.FormatInt(obs[0].ID, 10)+"/resolve", url.Values{"uphold": {"0"}, "resolution": {"查无实据"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("dismiss %d", r.StatusCode)
	}
	if obs, _ := e.db.ListObjections(ctx, id); obs[0].Status != "dismissed" {
		t.Fatalf("objection %s", obs[0].Status)
	}
	if a, _ := e.db.FindApplication(ctx, id); a.State != applications.StateApproved {
		t.Fatalf("state %s", a.State)
	}
}

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

func TestObjectionUpheld(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.openProgramme()
	id := e.reviewed(p, "5000000.00")
	staffU, apprU := e.users[applications.RoleStaff], e.users[applications.RoleApprover]
	did, err := e.db.PrepareDecision(ctx, audit.Actor{ID: staffU.ID}, id, applications.DecisionInput{Approve: true,
		Amount: decimal.RequireFromString("5000000"), Terms: p.TermsTemplate})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.ApproveDecision(ctx, audit.Actor{ID: apprU.ID}, did); err != nil {
		t.Fatal(err)
	}
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
	if r := c.post("/objections/"+strconv.FormatInt(obs[0].ID, 10)+"/resolve", url.Values{"uphold": {"1"}, "resolution": {"经核实属实"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("resolve %d", r.StatusCode)
	}
	a, _ = e.db.FindApplication(ctx, id)
	if a.State != applications.StateRejected {
		t.Fatalf("state %s", a.State)
	}
}

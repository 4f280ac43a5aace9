package server

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/postgres"
)

func TestExitMakerCannotApprove(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id := e.fundedA(termsA)
	staffA := e.people().Staff
	ev, err := e.db.ReportEvent(ctx, staffA, applications.TriggerEvent{ApplicationID: id, Kind: applications.EventFinancing,
		EventDate: time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), Investors: "基金", NewMoney: decimal.RequireFromString("20000000"),
		PreMoneyValuation: decimal.RequireFromString("80000000"), PreMoneyUnits: decimal.RequireFromString("1000000"), Unit: "registered_capital"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.VerifyEvent(ctx, staffA, ev, true, ""); err != nil {
		t.Fatal(err)
	}
	cid, err := e.db.PrepareConversion(ctx, staffA, id, "", key())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.ApproveConversion(ctx, e.people().Approver, cid); err != nil {
		t.Fatal(err)
	}
	e.clock.t = time.Date(2027, 2, 1, 2, 0, 0, 0, time.UTC)
	xid, err := e.db.PrepareExit(ctx, staffA, id, postgres.ExitInput{Date: time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC),
		Units: "12500.00", BuyerKind: "founders"}, key())
	if err != nil {
		t.Fatal(err)
	}
	c := e.loggedIn(applications.RoleStaff)
	c.get("/applications/" + strconv.FormatInt(id, 10) + "/equity")
	// staff may not even reach the approve route; the store refuses the maker too
	if r := c.post("/exits/"+strconv.FormatInt(xid, 10)+"/approve", withConfirm(nil)); r.StatusCode != 403 {
		t.Fatalf("status %d", r.StatusCode)
	}
	if err := e.db.ApproveExit(ctx, staffA, xid); applications.ErrorKind(err) != applications.Forbidden {
		t.Fatalf("maker approved own exit: %v", err)
	}
}

package server

import (
	"context"
	"net/http"
	"testing"

	"ite/internal/applications"
	"ite/internal/audit"
)

func TestInbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.openProgramme()
	id := e.underReview(p, "1000000.00")
	cs, _ := e.experts(5, applications.SectorNewEnergyMaterials, "ix")
	if _, err := e.db.DrawPanel(context.Background(), audit.Actor{ID: e.users[applications.RoleStaff].ID}, id, 42); err != nil {
		t.Fatal(err)
	}
	d := cs[0].get("/inbox").doc(t)
	link, ok := d.Find("#inbox a").First().Attr("href")
	if !ok || d.Find("#inbox .unread").Length() != 1 {
		t.Fatal("no unread notification")
	}
	if r := cs[0].get(link); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/reviews" {
		t.Fatalf("open: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if cs[0].get("/inbox").doc(t).Find("#inbox .unread").Length() != 0 {
		t.Fatal("still unread after opening")
	}
	if r := cs[1].get(link); r.StatusCode != 404 {
		t.Fatalf("another user's notification: %d", r.StatusCode)
	}
}

package server

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"ite/internal/applications"
	"ite/internal/postgres"
)

// TestBadBytesAre4xx: text the database cannot store is the user's input,
// not a server error.
func TestBadBytesAre4xx(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.openProgramme()
	ent := e.loggedIn(applications.RoleEnterprise)
	ent.get("/applications/new")
	form := validApplicationForm(p.ID, "1000000.00")
	form.Set("title", "储能\x00材料")
	if r := ent.post("/applications", form); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("NUL in title: %d", r.StatusCode)
	}
	staffC := e.loggedIn(applications.RoleStaff)
	if r := staffC.get("/applications?q=%00abc"); r.StatusCode >= 500 {
		t.Fatalf("NUL in search: %d", r.StatusCode)
	}
	if r := staffC.get("/ledger/accounts?account=1002&after=2026-01-01.1.40000"); r.StatusCode >= 500 {
		t.Fatalf("cursor line overflow: %d", r.StatusCode)
	}
	t.Run("TermsWithTrailingTextRefused", func(t *testing.T) {
		if _, err := applications.ParseTerms(append([]byte(termsA), " x"...)); applications.ErrorKind(err) != applications.Invalid {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("EnterpriseCannotUploadStaffItems", func(t *testing.T) {
		id := ent.createApplication(p.ID, "1000000.00")
		for _, item := range []applications.Material{applications.MaterialSignedAgreement, applications.MaterialEvidence} {
			if r := ent.upload(id, item, nil, "x.pdf", bytes.NewReader(pdf)); r.StatusCode != http.StatusNotFound {
				t.Fatalf("%s: %d", item, r.StatusCode)
			}
		}
	})
}

// TestProposalsCanBeSentBack: an approver can reject a conversion (the
// project is not blocked) and an exit cannot be approved once the project
// was written off.
func TestProposalsCanBeSentBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id := e.fundedA(termsA)
	who := e.people()
	cid := e.preparedConversion(id)
	appr := e.loggedIn(applications.RoleApprover)
	appr.get("/applications/" + strconv.FormatInt(id, 10) + "/equity")
	if r := appr.post("/proposals/conversion/"+strconv.FormatInt(cid, 10)+"/reject", url.Values{"reason": {"估值依据不足"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reject %d %s", r.StatusCode, r.body)
	}
	if _, err := e.db.PrepareConversion(ctx, who.Staff, id, "", key()); err != nil {
		t.Fatalf("a rejected conversion still blocks: %v", err)
	}
	cs, _ := e.db.ListConversions(ctx, id)
	if err := e.db.ApproveConversion(ctx, who.Approver, cs[0].ID); err != nil {
		t.Fatal(err)
	}
	e.clock.t = time.Date(2027, 2, 1, 2, 0, 0, 0, time.UTC)
	xid, err := e.db.PrepareExit(ctx, who.Staff, id, postgres.ExitInput{Date: time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC),
		Units: "12500.00", BuyerKind: "founders"}, key())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("WriteOffRefusedWhileExitPending", func(t *testing.T) {
		_, err := e.db.PrepareEnding(ctx, who.Staff, id, postgres.EndingInput{Kind: postgres.EndingWriteOff, Reason: "失败",
			ValueDate: time.Date(2027, 1, 20, 0, 0, 0, 0, time.UTC)}, key(), &applications.Document{})
		if applications.ErrorKind(err) != applications.Conflict || !strings.Contains(applications.ErrorMessage(err), "退出") {
			t.Fatalf("err %v", err)
		}
	})
	// Even if a write-off got through by another path, the exit must not post.
	if _, err := e.db.Pool.Exec(ctx, `UPDATE applications SET state = 'written_off' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if err := e.db.ApproveExit(ctx, who.Approver, xid); applications.ErrorKind(err) != applications.Conflict {
		t.Fatalf("exit approved on a written-off project: %v", err)
	}
}

package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/postgres"
)

// copyDocument stores a copy of document src's row on application app, as
// if it had been uploaded there (documents are append-only: an INSERT).
func (e *env) copyDocument(src, app int64) int64 {
	e.t.Helper()
	ctx := context.Background()
	var cols []string
	rows, err := e.db.Pool.Query(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_name = 'documents' AND column_name NOT IN ('id', 'application_id', 'blob_key') AND is_generated = 'NEVER' ORDER BY ordinal_position`)
	if err != nil {
		e.t.Fatal(err)
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			e.t.Fatal(err)
		}
		cols = append(cols, c)
	}
	list := strings.Join(cols, ", ")
	var old string
	if err := e.db.Pool.QueryRow(ctx, `SELECT blob_key FROM documents WHERE id = $1`, src).Scan(&old); err != nil {
		e.t.Fatal(err)
	}
	rc, err := e.srv.Blobs.Open(ctx, old)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rc.Close()
	newKey := old + "-copy"
	if err := e.srv.Blobs.Put(ctx, newKey, rc); err != nil {
		e.t.Fatal(err)
	}
	var id int64
	if err := e.db.Pool.QueryRow(ctx, `INSERT INTO documents (application_id, blob_key, `+list+`) SELECT $2, $3, `+list+
		` FROM documents WHERE id = $1 RETURNING id`, src, app, newKey).Scan(&id); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// TestTrusteeAccess: DOMAIN §2, the platform's trustee sees its platform's
// projects from conversion on and nothing else: not an application before
// conversion, not another platform's project, never an ID copy or a credit
// report; it prepares an exit, which only an approver approves (maker ≠
// checker for the trustee's exits as for staff's), hears of the
// conversion and the approval, and records the receipt.
func TestTrusteeAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	who := e.people()
	p := e.openProgramme()
	pre := e.underReview(p, "1200000.00") // uploaded materials, before conversion
	converted := e.fundedA(termsA)
	conv := e.preparedConversion(converted)
	if err := e.db.ApproveConversion(ctx, who.Approver, conv); err != nil {
		t.Fatal(err)
	}
	docs := map[applications.Material]int64{}
	preDocs := map[applications.Material]int64{}
	items, err := e.db.ListDocuments(ctx, pre)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range items {
		preDocs[d.Item] = d.ID
		docs[d.Item] = e.copyDocument(d.ID, converted)
	}
	tr := e.loggedIn(trustee)

	t.Run("SeesItsConvertedProject", func(t *testing.T) {
		for _, path := range []string{"/applications", "/applications/" + itoa(converted), "/applications/" + itoa(converted) + "/equity",
			"/applications/" + itoa(converted) + "/agreement", "/equity", "/conversions/" + itoa(conv) + "/certificate"} {
			if r := tr.get(path); r.StatusCode != http.StatusOK {
				t.Errorf("GET %s: %d, want 200", path, r.StatusCode)
			}
		}
		list := tr.get("/applications").doc(t)
		if list.Find(`a[href="/applications/`+itoa(converted)+`"]`).Length() == 0 {
			t.Error("the trustee's list lacks its converted project")
		}
		if list.Find(`a[href="/applications/`+itoa(pre)+`"]`).Length() != 0 {
			t.Error("the trustee's list shows an application before conversion")
		}
		if r := tr.get("/documents/" + itoa(docs[applications.MaterialBusinessLicense])); r.StatusCode != http.StatusOK {
			t.Errorf("business plan of its project: %d, want 200", r.StatusCode)
		}
		page := tr.get("/applications/" + itoa(converted)).doc(t)
		for _, m := range []applications.Material{applications.MaterialLegalRepID, applications.MaterialEnterpriseCreditReport} {
			if page.Find(`a[href^="/documents/`+itoa(docs[m])+`"]`).Length() != 0 {
				t.Errorf("the application page links the trustee to %s", m)
			}
		}
	})
	t.Run("RefusedIDCopyAndCreditReport", func(t *testing.T) {
		for _, m := range []applications.Material{applications.MaterialLegalRepID, applications.MaterialEnterpriseCreditReport} {
			if r := tr.get("/documents/" + itoa(docs[m])); r.StatusCode != http.StatusForbidden {
				t.Errorf("%s of its own project: %d, want 403", m, r.StatusCode)
			}
		}
	})
	t.Run("RefusedBeforeConversion", func(t *testing.T) {
		for _, path := range []string{"/applications/" + itoa(pre), "/documents/" + itoa(preDocs[applications.MaterialBusinessLicense])} {
			if r := tr.get(path); r.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, r.StatusCode)
			}
		}
		if r := tr.get("/watchlist"); r.StatusCode != http.StatusForbidden {
			t.Errorf("GET /watchlist: %d, want 403", r.StatusCode)
		}
	})
	t.Run("RefusedOtherPlatform", func(t *testing.T) {
		var prog int64
		if err := e.db.Pool.QueryRow(ctx, `SELECT programme_id FROM applications WHERE id = $1`, converted).Scan(&prog); err != nil {
			t.Fatal(err)
		}
		other := applications.ExampleUSCC(90_000_019)
		if _, err := e.db.Pool.Exec(ctx, `UPDATE programmes SET holding_platform_uscc = $2 WHERE id = $1`, prog, other); err != nil {
			t.Fatal(err)
		}
		defer e.db.Pool.Exec(ctx, `UPDATE programmes SET holding_platform_uscc = $2 WHERE id = $1`, prog, applications.DefaultHoldingPlatformUSCC)
		for _, path := range []string{"/applications/" + itoa(converted), "/applications/" + itoa(converted) + "/equity",
			"/documents/" + itoa(docs[applications.MaterialBusinessLicense])} {
			if r := tr.get(path); r.StatusCode != http.StatusNotFound {
				t.Errorf("another platform's %s: %d, want 404", path, r.StatusCode)
			}
		}
		if r := tr.post("/applications/"+itoa(converted)+"/exits", url.Values{"date": {"2026-06-30"}, "units": {"100.00"},
			"buyer_kind": {"team"}, "idempotency_key": {key()}}); r.StatusCode != http.StatusNotFound {
			t.Errorf("exit on another platform's project: %d, want 404", r.StatusCode)
		}
		if tr.get("/equity").doc(t).Find(`a[href="/applications/`+itoa(converted)+`/equity"]`).Length() != 0 {
			t.Error("the register shows another platform's position")
		}
	})
	t.Run("NotifiedOfConversion", func(t *testing.T) {
		var n int
		if err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = 'holding_converted'`,
			e.users[trustee].ID).Scan(&n); err != nil || n != 1 {
			t.Errorf("holding_converted notifications: %d, %v; want 1", n, err)
		}
	})

	// Both a staff-prepared and a trustee-prepared exit need an approver,
	// and neither maker may check their own.
	var exits []int64
	t.Run("ExitNeedsAnApprover", func(t *testing.T) {
		tr.get("/applications/" + itoa(converted) + "/equity")
		r := tr.post("/applications/"+itoa(converted)+"/exits", url.Values{"date": {"2026-06-30"}, "units": {"12500.00"},
			"buyer_kind": {"team"}, "idempotency_key": {key()}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("trustee prepares an exit: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		xs, err := e.db.ListExits(ctx, converted)
		if err != nil || len(xs) != 1 || xs[0].PreparedBy != e.users[trustee].ID || xs[0].Status != applications.ExitPending {
			t.Fatalf("exits after the trustee's: %+v, %v", xs, err)
		}
		trActor := audit.Actor{ID: e.users[trustee].ID, Name: "受托", Role: string(trustee)}
		if err := e.db.ApproveExit(ctx, trActor, xs[0].ID); applications.ErrorKind(err) != applications.Forbidden {
			t.Errorf("the trustee approves its own exit: %v, want Forbidden", err)
		}
		if r := tr.post("/exits/"+itoa(xs[0].ID)+"/approve", withConfirm(nil)); r.StatusCode != http.StatusForbidden {
			t.Errorf("the trustee posts the approval: %d, want 403", r.StatusCode)
		}
		appr := e.loggedIn(approver)
		appr.get("/applications/" + itoa(converted) + "/equity")
		if r := appr.post("/exits/"+itoa(xs[0].ID)+"/approve", withConfirm(nil)); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("approver approves: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		exits = append(exits, xs[0].ID)
		var n int
		if err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = 'exit_approved'`,
			e.users[trustee].ID).Scan(&n); err != nil || n != 1 {
			t.Errorf("exit_approved notifications of the trustee: %d, %v; want 1", n, err)
		}
		// A staff-prepared exit: the same rule.
		sid, err := e.db.PrepareExit(ctx, who.Staff, converted, postgres.ExitInput{Date: time.Date(2026, 7, 31, 0, 0, 0, 0, time.UTC),
			Units: "100.00", BuyerKind: applications.BuyerTeam}, key())
		if err != nil {
			t.Fatal(err)
		}
		if err := e.db.ApproveExit(ctx, who.Staff, sid); applications.ErrorKind(err) != applications.Forbidden {
			t.Errorf("staff approves its own exit: %v, want Forbidden", err)
		}
		if err := e.db.ApproveExit(ctx, who.Approver, sid); err != nil {
			t.Errorf("approver approves staff's exit: %v", err)
		}
	})
	t.Run("RecordsTheReceipt", func(t *testing.T) {
		if len(exits) == 0 {
			t.Skip("no approved exit")
		}
		xs, _ := e.db.ListExits(ctx, converted)
		x := xs[0]
		home := tr.get("/").doc(t)
		if home.Find(`a[href*="/applications/`+itoa(converted)+`/equity"]`).Length() == 0 {
			t.Error("the trustee's home lacks the receipt to record")
		}
		tr.get("/applications/" + itoa(converted) + "/equity")
		bad := tr.post("/exits/"+itoa(x.ID)+"/receipt", url.Values{"received_on": {"2026-07-02"}, "amount": {x.Proceeds.Add(x.Proceeds).StringFixed(2)},
			"reference": {"BOC-R1"}, "idempotency_key": {key()}})
		if bad.StatusCode != http.StatusUnprocessableEntity && bad.StatusCode != http.StatusBadRequest {
			t.Errorf("receipt of the wrong amount: %d, want 4xx", bad.StatusCode)
		}
		r := tr.post("/exits/"+itoa(x.ID)+"/receipt", url.Values{"received_on": {"2026-07-02"}, "amount": {x.Proceeds.StringFixed(2)},
			"reference": {"BOC-R1"}, "idempotency_key": {key()}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("receipt: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		xs, _ = e.db.ListExits(ctx, converted)
		if xs[0].ReceiptReference != "BOC-R1" {
			t.Errorf("receipt not stored: %+v", xs[0])
		}
		again := tr.post("/exits/"+itoa(x.ID)+"/receipt", url.Values{"received_on": {"2026-07-02"}, "amount": {x.Proceeds.StringFixed(2)},
			"reference": {"BOC-R2"}, "idempotency_key": {key()}})
		if again.StatusCode != http.StatusConflict {
			t.Errorf("second receipt: %d, want 409", again.StatusCode)
		}
	})
}

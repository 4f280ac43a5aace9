package server

import (
	"bytes"
	"net/http"
	"testing"

	"ite/internal/applications"
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

package server

import (
	"strings"
	"testing"
)

// checkAuditorExports is run by TestEquityExampleA once example A's
// project has converted and fully exited: the certificate list and the
// project register (with proceeds, gain, key dates and totals), on the
// page and in both exports, which agree to the fen.
func checkAuditorExports(t *testing.T, e *env, app int64) {
	t.Helper()
	c := e.loggedIn(auditor)

	doc := c.get("/ledger/certificates").doc(t)
	if n := doc.Find(`#certificates-table tbody tr`).Length(); n != 1 {
		t.Fatalf("%d certificates listed", n)
	}
	certs := exportBoth(t, c, "/ledger/certificates/export", CertificateTable)
	if len(certs.csv) != 2 || !strings.HasPrefix(certs.csv[1][0], "ZG-") || certs.csv[1][1] == "" || certs.csv[1][9] == "" {
		t.Fatalf("certificate export %v", certs.csv)
	}
	t.Logf("certificate: %v", certs.csv[1])

	doc = c.get("/ledger/register").doc(t)
	line := doc.Find(`#register-table tr[data-app="` + itoa(app) + `"]`).Text()
	for _, want := range []string{"3,095,123.29", "95,123.29", "2029-01-15"} {
		if !strings.Contains(line, want) {
			t.Errorf("register line lacks %s: %q", want, line)
		}
	}
	if doc.Find(`#register-total`).Length() != 1 {
		t.Fatal("register has no totals row")
	}
	reg := exportBoth(t, c, "/ledger/register/export", RegisterTable)
	var row []string
	for _, r := range reg.csv {
		if r[0] == itoa(app) {
			row = r
		}
	}
	last := reg.csv[len(reg.csv)-1]
	if row == nil || row[9] != "3095123.29" || row[10] != "95123.29" || row[17] != "2029-01-15" || row[16] == "" || row[15] == "" {
		t.Fatalf("register row %v", row)
	}
	if last[1] != "合计" || (len(reg.csv) == 3 && !sameFigure(last[9], row[9])) {
		t.Fatalf("register totals %v", last)
	}
}

package server

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/fixture"
	"ite/internal/postgres"
)

// accept records an acceptance of project id through the equity page's
// form, with an acceptance report, and returns the response.
func (c *client) accept(id int64, result applications.AcceptanceResult, on string) response {
	c.e.t.Helper()
	path := "/applications/" + strconv.FormatInt(id, 10)
	c.get(path + "/equity")
	return c.postMultipart(path+"/acceptances", url.Values{"idempotency_key": {key()}, "accepted_on": {on},
		"result": {string(result)}, "conditions": {"补交知识产权证明"}}, "report", "结题验收报告.pdf", pdf)
}

// mustAccept records an acceptance and fails the test if it is refused.
func (c *client) mustAccept(id int64, result applications.AcceptanceResult, on string) {
	c.e.t.Helper()
	if r := c.accept(id, result, on); r.StatusCode != http.StatusSeeOther {
		c.e.t.Fatalf("record acceptance: %d %s", r.StatusCode, r.doc(c.e.t).Find("[role=alert]").Text())
	}
}

// lapsedA is example A's project after its conversion window ended.
func (e *env) lapsedA() int64 {
	e.t.Helper()
	id := e.fundedA(termsA)
	e.clock.t = time.Date(2029, 1, 11, 2, 0, 0, 0, time.UTC) // the day after the window (signed 2024-01-10 + 5 years)
	if _, err := e.db.EvaluateLapses(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	if a, _ := e.db.FindApplication(context.Background(), id); a.State != applications.StateLapsed {
		e.t.Fatalf("state %s", a.State)
	}
	return id
}

// endingKinds are the kinds the equity page's ending form offers.
func endingKinds(t *testing.T, c *client, id int64) []string {
	t.Helper()
	var kinds []string
	c.get("/applications/" + strconv.FormatInt(id, 10) + "/equity").doc(t).Find(`#ending-form select[name=kind] option`).Each(func(_ int, s *goquery.Selection) {
		if v := s.AttrOr("value", ""); v != "" {
			kinds = append(kinds, v)
		}
	})
	return kinds
}

// TestAcceptanceGatesClosedGrant: a lapse closes as a grant only after a
// passed acceptance (DOMAIN §16); a failed one leads to recovery.
func TestAcceptanceGatesClosedGrant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// lapsed starts each case on its own database: example A's project
	// after its window, and staff and an approver signed in since.
	lapsed := func(t *testing.T) (*env, int64, *client, *client) {
		e := newEnv(t)
		id := e.lapsedA()
		return e, id, e.loggedIn(applications.RoleStaff), e.loggedIn(applications.RoleApprover)
	}
	grant := func(c *client, id int64) response {
		c.get("/applications/" + strconv.FormatInt(id, 10) + "/equity")
		return c.post("/applications/"+strconv.FormatInt(id, 10)+"/endings", url.Values{"idempotency_key": {key()},
			"kind": {postgres.EndingGrant}, "reason": {"按协议转为无偿资助"}, "value_date": {"2029-01-11"}})
	}
	t.Run("ClosedGrantRefusedWithoutAcceptance", func(t *testing.T) {
		t.Parallel()
		e, id, staffC, _ := lapsed(t)
		if kinds := endingKinds(t, staffC, id); strings.Contains(strings.Join(kinds, ","), postgres.EndingGrant) {
			t.Fatalf("the form offers a grant without acceptance: %v", kinds)
		}
		r := grant(staffC, id)
		if msg := r.doc(t).Find("[role=alert]").Text(); r.StatusCode != http.StatusConflict || !strings.Contains(msg, "尚未登记结题验收") {
			t.Fatalf("grant without acceptance: %d %q", r.StatusCode, msg)
		}
		if es, _ := e.db.ListEndings(ctx, id); len(es) != 0 {
			t.Fatalf("an ending was recorded: %+v", es)
		}
	})
	t.Run("AcceptanceRefusedWithoutReport", func(t *testing.T) {
		t.Parallel()
		e, id, staffC, _ := lapsed(t)
		path := "/applications/" + strconv.FormatInt(id, 10)
		staffC.get(path + "/equity")
		r := staffC.post(path+"/acceptances", url.Values{"idempotency_key": {key()}, "accepted_on": {"2029-01-10"}, "result": {"passed"}})
		if r.StatusCode != http.StatusUnprocessableEntity || r.doc(t).Find(`#acceptance-form .has-error input[name=report]`).Length() != 1 {
			t.Fatalf("without a report: %d", r.StatusCode)
		}
		if l, _ := e.db.ListAcceptances(ctx, id); len(l) != 0 {
			t.Fatal("recorded without a report")
		}
	})
	t.Run("ClosedGrantAllowedAfterPassed", func(t *testing.T) {
		t.Parallel()
		e, id, staffC, appr := lapsed(t)
		staffC.mustAccept(id, applications.AcceptanceConditional, "2029-01-10")
		doc := staffC.get("/applications/" + strconv.FormatInt(id, 10) + "/equity").doc(t)
		if got := doc.Find(`#acceptances [data-result=conditional] strong`).Text(); !strings.Contains(got, "有条件通过") ||
			doc.Find(`#acceptances a.acceptance-report`).Length() != 1 {
			t.Fatalf("acceptance not shown: %q", got)
		}
		if kinds := endingKinds(t, staffC, id); len(kinds) == 0 || kinds[0] != postgres.EndingGrant {
			t.Fatalf("kinds after a pass: %v", kinds)
		}
		if r := grant(staffC, id); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("grant after a pass: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		es, _ := e.db.ListEndings(ctx, id)
		appr.get("/applications/" + strconv.FormatInt(id, 10) + "/equity")
		if r := appr.post("/endings/"+strconv.FormatInt(es[0].ID, 10)+"/approve", withConfirm(nil)); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("approve %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		if a, _ := e.db.FindApplication(ctx, id); a.State != applications.StateClosedGrant {
			t.Fatalf("state %s", a.State)
		}
		var n int
		_ = e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE event = 'acceptance_record' AND object_type = 'acceptance'`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d acceptance audit rows", n)
		}
	})
	t.Run("ClosedGrantRefusedAfterFailedRecoveryAllowed", func(t *testing.T) {
		t.Parallel()
		e, id, staffC, _ := lapsed(t)
		staffC.mustAccept(id, applications.AcceptanceFailed, "2029-01-10")
		kinds := endingKinds(t, staffC, id)
		if strings.Contains(strings.Join(kinds, ","), postgres.EndingGrant) || !strings.Contains(strings.Join(kinds, ","), postgres.EndingRepay) {
			t.Fatalf("kinds after a failure: %v", kinds)
		}
		r := grant(staffC, id)
		if msg := r.doc(t).Find("[role=alert]").Text(); r.StatusCode != http.StatusConflict || !strings.Contains(msg, "不通过") {
			t.Fatalf("grant after a failure: %d %q", r.StatusCode, msg)
		}
		if r := staffC.post("/applications/"+strconv.FormatInt(id, 10)+"/endings", url.Values{"idempotency_key": {key()},
			"kind": {postgres.EndingRepay}, "reason": {"结题验收不通过，追回资金"}, "value_date": {"2029-01-11"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("repay: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		es, _ := e.db.ListEndings(ctx, id)
		if err := e.db.ApproveEnding(ctx, e.people().Approver, es[0].ID); err != nil {
			t.Fatal(err)
		}
		if a, _ := e.db.FindApplication(ctx, id); a.State != applications.StateRecovery {
			t.Fatalf("state %s", a.State)
		}
	})
	t.Run("ApprovalRefusedWhenAcceptanceFailedSince", func(t *testing.T) {
		t.Parallel()
		e, id, staffC, _ := lapsed(t)
		staffC.mustAccept(id, applications.AcceptancePassed, "2029-01-09")
		if r := grant(staffC, id); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("grant: %d", r.StatusCode)
		}
		staffC.mustAccept(id, applications.AcceptanceFailed, "2029-01-10") // a re-examination
		es, _ := e.db.ListEndings(ctx, id)
		if err := e.db.ApproveEnding(ctx, e.people().Approver, es[0].ID); applications.ErrorKind(err) != applications.Conflict {
			t.Fatalf("approved after a failed re-examination: %v", err)
		}
	})
}

// contractedProject is a project of programme p approved for amount under
// terms, its agreement signed on 2024-01-10, and p's fund appropriated
// 50,000,000 under the reference ref (unique per test database).
func (e *env) contractedProject(p applications.Programme, title, amount, terms, ref string) int64 {
	e.t.Helper()
	ctx, who, t := context.Background(), e.people(), e.t
	id, err := fixture.ReviewedApplication(ctx, e.db, p, who, title, amount)
	if err != nil {
		t.Fatal(err)
	}
	did, err := e.db.PrepareDecision(ctx, who.Staff, id, applications.DecisionInput{Approve: true, Amount: decimal.RequireFromString(amount), Terms: []byte(terms)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.ApproveDecision(ctx, who.Approver, did); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool.Exec(ctx, `UPDATE agreements SET status = 'signed', signed_on = '2024-01-10' WHERE application_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.TransitionApplication(ctx, who.Staff, id, applications.StateContracted, "签约", nil); err != nil {
		t.Fatal(err)
	}
	ap, err := e.db.RecordAppropriation(ctx, who.Staff, postgres.AppropriationInput{ProgrammeID: p.ID, Amount: decimal.RequireFromString("50000000"),
		ValueDate: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), Reference: ref, IdempotencyKey: key()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.ApproveAppropriation(ctx, who.Approver, ap.ID, key()); err != nil {
		t.Fatal(err)
	}
	return id
}

// disbursed records and approves a disbursement of tranche of project id.
func (e *env) disbursed(id int64, tranche int, amount string, on time.Time, ref string) {
	e.t.Helper()
	ctx, who := context.Background(), e.people()
	x, err := e.db.RecordDisbursement(ctx, who.Staff, applications.DisbursementInput{ApplicationID: id, Tranche: tranche,
		Amount: decimal.RequireFromString(amount), ValueDate: on, Reference: ref, IdempotencyKey: key()})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.db.ApproveDisbursement(ctx, who.Approver, x.ID, key()); err != nil {
		e.t.Fatal(err)
	}
}

// TestTrancheGatedByAcceptance: a tranche whose terms say gate
// "acceptance" is refused before a passed acceptance, allowed after.
func TestTrancheGatedByAcceptance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, who := context.Background(), e.people()
	gated := strings.Replace(termsA, `{"share":"0.5","months_after_signing":12}`, `{"share":"0.5","months_after_signing":12,"gate":"acceptance"}`, 1)
	if gated == termsA {
		t.Fatal("terms A changed: the gate was not added")
	}
	id := e.contractedProject(e.openProgramme(), "验收后拨付的项目", "3000000.00", gated, "财预〔2024〕1号")
	disburse := func(tranche int) error {
		_, err := e.db.RecordDisbursement(ctx, who.Staff, applications.DisbursementInput{ApplicationID: id, Tranche: tranche,
			Amount: decimal.RequireFromString("1500000"), ValueDate: time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC), Reference: "BOC", IdempotencyKey: key()})
		return err
	}
	e.disbursed(id, 1, "1500000", time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC), "BOC-1")
	staffC := e.loggedIn(applications.RoleStaff)
	gate := func() string {
		return strings.TrimSpace(staffC.get("/applications/" + strconv.FormatInt(id, 10)).doc(t).Find(`#disbursement-section tr[data-tranche="2"] .acceptance-gate`).Text())
	}
	// The signed paper says what the refusal below enforces: the agreement's
	// tranche table and the decision to fund print each tranche's condition.
	t.Run("AgreementAndDecisionPrintTheGate", func(t *testing.T) {
		conditions := func(path, rows string, col int) []string {
			var out []string
			staffC.get(path).doc(t).Find(rows).Each(func(_ int, tr *goquery.Selection) {
				out = append(out, strings.TrimSpace(tr.Find("td").Eq(col).Text()))
			})
			return out
		}
		base := "/applications/" + strconv.FormatInt(id, 10)
		want := []string{"协议生效后拨付", "经结题验收合格后拨付"}
		got := conditions(base+"/agreement", `#agreement table.doc-table:first-of-type tbody tr`, 5)
		if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != "" {
			t.Errorf("agreement tranche conditions %q, want %q and the total row", got, want)
		}
		if body := staffC.get(base + "/agreement").doc(t).Find("#agreement").Text(); strings.Contains(body, "¥¥") {
			t.Errorf("agreement doubles the yuan sign")
		}
		if got := conditions(base+"/print/decision", `#printout table.doc-table tbody tr`, 5); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("decision tranche conditions %q, want %q", got, want)
		}
	})
	t.Run("RefusedBeforeAcceptance", func(t *testing.T) {
		if g := gate(); g != "结题验收通过后方可拨付" {
			t.Errorf("the plan shows %q", g)
		}
		err := disburse(2)
		if applications.ErrorKind(err) != applications.Invalid || !strings.Contains(applications.ErrorMessage(err), "结题验收") {
			t.Fatalf("tranche 2 before acceptance: %v", err)
		}
	})
	t.Run("RefusedAfterFailedAcceptance", func(t *testing.T) {
		staffC.mustAccept(id, applications.AcceptanceFailed, "2025-01-10")
		if err := disburse(2); applications.ErrorKind(err) != applications.Invalid {
			t.Fatalf("tranche 2 after a failed acceptance: %v", err)
		}
	})
	t.Run("AllowedAfterPassedAcceptance", func(t *testing.T) {
		staffC.mustAccept(id, applications.AcceptancePassed, "2025-01-12")
		if g := gate(); g != "结题验收已通过，可拨付" {
			t.Errorf("the plan shows %q", g)
		}
		if err := disburse(2); err != nil {
			t.Fatalf("tranche 2 after a pass: %v", err)
		}
	})
}

// TestAcceptanceSpecialAudit: where the programme requires it, an
// acceptance needs the special audit report too, and the page links both.
func TestAcceptanceSpecialAudit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id := e.lapsedA()
	a, _ := e.db.FindApplication(ctx, id)
	p, _ := e.db.FindProgramme(ctx, a.ProgrammeID)
	p.RequiresSpecialAudit = true
	if _, err := e.db.UpdateProgramme(ctx, e.people().Staff, p); err != nil {
		t.Fatal(err)
	}
	staffC := e.loggedIn(applications.RoleStaff)
	t.Run("RefusedWithoutAuditReport", func(t *testing.T) {
		r := staffC.accept(id, applications.AcceptancePassed, "2029-01-10")
		if r.StatusCode != http.StatusUnprocessableEntity || r.doc(t).Find(`#acceptance-form .has-error input[name=audit_report]`).Length() != 1 {
			t.Fatalf("without the audit report: %d", r.StatusCode)
		}
	})
	t.Run("RecordedWithBothReports", func(t *testing.T) {
		path := "/applications/" + strconv.FormatInt(id, 10)
		staffC.get(path + "/equity")
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		_ = mw.WriteField("csrf_token", staffC.csrf) // the first part, where the server reads it
		for k, v := range map[string]string{"idempotency_key": key(), "accepted_on": "2029-01-10", "result": "passed"} {
			_ = mw.WriteField(k, v)
		}
		for _, f := range []string{"report", "audit_report"} {
			fw, _ := mw.CreateFormFile(f, f+".pdf")
			_, _ = fw.Write(pdf)
		}
		_ = mw.Close()
		req, _ := http.NewRequest("POST", e.http.URL+path+"/acceptances", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		if r := staffC.do(req); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("with both: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		doc := staffC.get(path + "/equity").doc(t)
		if doc.Find(`#acceptances a.acceptance-report`).Length() != 1 || doc.Find(`#acceptances a.audit-report`).Length() != 1 {
			t.Fatal("the page does not link both reports")
		}
		ls, _ := e.db.ListAcceptances(ctx, id)
		if len(ls) != 1 || ls[0].AuditDoc == 0 || ls[0].ReportDoc == ls[0].AuditDoc {
			t.Fatalf("acceptances %+v", ls)
		}
	})
}

package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
)

func TestDecision(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.openProgramme() // budget 50,000,000
	id := e.reviewed(p, "9000000.00")
	path := "/applications/" + strconv.FormatInt(id, 10)
	staffC := e.loggedIn(applications.RoleStaff)
	staffC.get(path)
	form := func(amount string) url.Values {
		v := termsValues(t, p.TermsTemplate)
		v.Set("kind", "approve")
		v.Set("amount", amount)
		return v
	}
	t.Run("AboveRequestedRefused", func(t *testing.T) {
		if r := staffC.post(path+"/decision", form("9000000.01")); r.StatusCode != 422 {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("WrongStateRefusedWith409", func(t *testing.T) {
		other := e.underReview(p, "1000000.00")
		r := staffC.post("/applications/"+strconv.FormatInt(other, 10)+"/decision", form("1000000.00"))
		if r.StatusCode != 409 || !strings.Contains(r.body, "待决策") {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("ApproverCannotApproveOwnPreparation", func(t *testing.T) {
		approverU := e.users[applications.RoleApprover]
		other := e.reviewed(p, "1000000.00")
		did, err := e.db.PrepareDecision(ctx, audit.Actor{ID: approverU.ID, Name: "审批人甲"}, other,
			applications.DecisionInput{Approve: true, Amount: decimal.RequireFromString("1000000"), Terms: p.TermsTemplate})
		if err != nil {
			t.Fatal(err)
		}
		c := e.loggedIn(applications.RoleApprover)
		c.get("/applications/" + strconv.FormatInt(other, 10))
		if r := c.post("/decisions/"+strconv.FormatInt(did, 10)+"/approve", withConfirm(nil)); r.StatusCode != 403 {
			t.Fatalf("status %d", r.StatusCode)
		}
		if count(e.auditEvents(), "maker_checker_refused") == 0 {
			t.Fatal("refusal not audited")
		}
	})
	if r := staffC.post(path+"/decision", form("8000000.00")); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("prepare %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	decisions, _ := e.db.ListDecisions(ctx, id)
	appr := e.loggedIn(applications.RoleApprover)
	t.Run("ConfirmationShowsTheAmountInCapitals", func(t *testing.T) {
		text := appr.get(path).doc(t).Find(`#decisions form.approve-confirm [data-confirm-text]`).Text()
		if !strings.Contains(text, "您将批准立项，立项金额 人民币捌佰万元整（¥8,000,000.00）") {
			t.Fatalf("confirmation %q", text)
		}
	})
	t.Run("ApprovalWithoutConfirmationRefused", func(t *testing.T) {
		r := appr.post("/decisions/"+strconv.FormatInt(decisions[0].ID, 10)+"/approve", nil)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.doc(t).Find(`.flash-error`).Text(), "勾选") {
			t.Fatalf("status %d %q", r.StatusCode, r.doc(t).Find(`.flash-error`).Text())
		}
		a, _ := e.db.FindApplication(ctx, id)
		ds, _ := e.db.ListDecisions(ctx, id)
		if a.State != applications.StateReviewed || ds[0].Status != applications.DecisionPending {
			t.Fatalf("unconfirmed approval wrote: %s, %s", a.State, ds[0].Status)
		}
	})
	appr.get(path)
	if r := appr.post("/decisions/"+strconv.FormatInt(decisions[0].ID, 10)+"/approve", withConfirm(nil)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve %d %s", r.StatusCode, r.body)
	}
	if flash := appr.get(path).doc(t).Find(`.flash`).Text(); !strings.Contains(flash, "进入公示期") || !strings.Contains(flash, "由经办人") {
		t.Fatalf("after the approval: %q", flash)
	}
	a, _ := e.db.FindApplication(ctx, id)
	t.Run("ApprovedWithNotice", func(t *testing.T) {
		if a.State != applications.StateApproved || a.ApprovedAmount.Decimal.StringFixed(2) != "8000000.00" || a.NoticeEndsOn.IsZero() {
			t.Fatalf("%s %v %v", a.State, a.ApprovedAmount, a.NoticeEndsOn)
		}
		// The timeline and the enterprise's notice read the amount and the
		// notice period as people write them, not as the database stores them.
		wantPeriod := "公示 " + day.Chinese(a.NoticeStartsOn) + " 至 " + day.Chinese(a.NoticeEndsOn)
		if tl := appr.get(path).doc(t).Find("#timeline").Text(); !strings.Contains(tl, "批准立项 8,000,000.00 元，"+wantPeriod) {
			t.Fatalf("timeline %q, want %q", tl, wantPeriod)
		}
		d := e.client().get("/notices").doc(t)
		if !strings.Contains(d.Find("#notice-table").Text(), "高性能储能材料中试") || !strings.Contains(d.Find("#notice-table").Text(), "800.00 万元") {
			t.Fatalf("public notice: %q", d.Find("#notice-table").Text())
		}
	})
	t.Run("SignRefusedDuringNotice", func(t *testing.T) {
		r := staffC.get(path + "/agreement")
		if r.doc(t).Find("#sign-form").Length() != 0 {
			t.Fatal("sign form offered during the notice")
		}
	})
	t.Run("NoticeEndsWithInjectedClock", func(t *testing.T) {
		e.clock.t = time.Date(a.NoticeEndsOn.Year(), a.NoticeEndsOn.Month(), a.NoticeEndsOn.Day()+1, 2, 0, 0, 0, time.UTC)
		staffC, appr = e.loggedIn(applications.RoleStaff), e.loggedIn(applications.RoleApprover) // sessions timed out
		d := staffC.get(path + "/agreement").doc(t)
		if d.Find("#sign-form").Length() != 1 {
			t.Fatal("no sign form after the notice ended")
		}
		if got := d.Find("#agreement-amount").Text(); !strings.Contains(got, "捌佰万元整") {
			t.Fatalf("amount %q", got)
		}
	})
	t.Run("SignedAgreementContracts", func(t *testing.T) {
		var body strings.Builder
		ct := multipartWriterFields(&body, map[string]string{"signed_on": e.clock.Now().Format(time.DateOnly)}, "file", "协议.pdf", pdf)
		req, _ := http.NewRequest("POST", e.http.URL+path+"/agreement/sign", strings.NewReader(body.String()))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-CSRF-Token", staffC.csrf)
		if r := staffC.do(req); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		a, _ := e.db.FindApplication(ctx, id)
		g, err := e.db.SignedAgreement(ctx, id)
		if a.State != applications.StateContracted || err != nil || g.DocumentID == 0 {
			t.Fatalf("state %s agreement %+v %v", a.State, g, err)
		}
	})
	t.Run("TermsChangeNeedsApproval", func(t *testing.T) {
		staffC.get(path + "/agreement")
		changed := termsValues(t, p.TermsTemplate)
		changed.Set("window_years", "6")
		changed.Set("reason", "延长转股期")
		if r := staffC.post(path+"/agreement/terms", changed); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("propose %d %s", r.StatusCode, r.body)
		}
		g, _ := e.db.SignedAgreement(ctx, id)
		if g.Terms.WindowYears != 5 {
			t.Fatal("a proposal changed the terms in force")
		}
		versions, _ := e.db.ListAgreements(ctx, id)
		appr.get(path + "/agreement")
		if r := appr.post("/agreements/"+strconv.FormatInt(versions[0].ID, 10)+"/approve", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("approve terms %d", r.StatusCode)
		}
		g, _ = e.db.SignedAgreement(ctx, id)
		versions, _ = e.db.ListAgreements(ctx, id)
		if g.Terms.WindowYears != 6 || versions[1].Status != "superseded" {
			t.Fatalf("window %d, old version %s", g.Terms.WindowYears, versions[1].Status)
		}
	})
}

// TestBudgetNeverOverCommitted approves many decisions at the same moment
// against a budget that fits only some of them.
func TestBudgetNeverOverCommitted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.openProgramme()
	p.TotalBudget = decimal.RequireFromString("25000000.00")
	if _, err := e.db.UpdateProgramme(ctx, sys, p); err != nil {
		t.Fatal(err)
	}
	staffU, apprU := e.users[applications.RoleStaff], e.users[applications.RoleApprover]
	var decisions []int64
	for range 8 {
		id := e.reviewed(p, "8000000.00")
		did, err := e.db.PrepareDecision(ctx, audit.Actor{ID: staffU.ID}, id, applications.DecisionInput{Approve: true,
			Amount: decimal.RequireFromString("8000000"), Terms: p.TermsTemplate})
		if err != nil {
			t.Fatal(err)
		}
		decisions = append(decisions, did)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(decisions))
	start := make(chan struct{})
	for i, did := range decisions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = e.db.ApproveDecision(ctx, audit.Actor{ID: apprU.ID}, did)
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if applications.ErrorKind(err) != applications.Conflict {
			t.Fatalf("unexpected error %v", err)
		}
	}
	var committed decimal.Decimal
	_ = e.db.Pool.QueryRow(ctx, `SELECT COALESCE(sum(approved_amount), 0) FROM applications WHERE programme_id = $1`, p.ID).Scan(&committed)
	if ok != 3 || committed.GreaterThan(p.TotalBudget) {
		t.Fatalf("%d approvals, committed %s of %s", ok, committed, p.TotalBudget)
	}
}

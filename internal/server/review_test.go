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
	"ite/internal/auth"
	"ite/internal/postgres"
)

var sys = audit.Actor{Name: "test"}

// underReview makes an application with all materials uploaded and moves
// it to under_review directly (formal review has its own tests).
func (e *env) underReview(p applications.Programme, amount string) int64 {
	e.t.Helper()
	ent := e.loggedIn(applications.RoleEnterprise)
	id := ent.createApplication(p.ID, amount)
	e.uploadAll(ent, id)
	ctx := context.Background()
	for _, st := range []applications.State{applications.StateSubmitted, applications.StateUnderReview} {
		if _, err := e.db.TransitionApplication(ctx, sys, id, st, "", nil); err != nil {
			e.t.Fatal(err)
		}
	}
	return id
}

// experts creates n active experts in the sector and returns their clients
// and user IDs.
func (e *env) experts(n int, sector applications.Sector, prefix string) ([]*client, []int64) {
	e.t.Helper()
	ctx := context.Background()
	var cs []*client
	var ids []int64
	for i := range n {
		hash, _ := auth.HashPassword(testPassword, fastParams)
		name := prefix + strconv.Itoa(i)
		u, err := e.db.CreateUser(ctx, sys, postgres.NewUser{Username: name, DisplayName: "专家" + name, Role: applications.RoleExpert, PasswordHash: hash})
		if err != nil {
			e.t.Fatal(err)
		}
		if err := e.db.SaveExpertProfile(ctx, sys, u.ID, postgres.ExpertProfile{Employer: "内蒙古大学", Sectors: []applications.Sector{sector}, Active: true}); err != nil {
			e.t.Fatal(err)
		}
		c := e.client()
		c.login(name, testPassword)
		cs, ids = append(cs, c), append(ids, u.ID)
	}
	return cs, ids
}

func scoreForm(total int) url.Values {
	// technology 30, team 20, market 20, plan 20, local_fit 10
	parts := []int{total * 30 / 100, total * 20 / 100, total * 20 / 100, total * 20 / 100}
	sum := 0
	for _, p := range parts {
		sum += p
	}
	v := url.Values{"score_technology": {strconv.Itoa(parts[0])}, "score_team": {strconv.Itoa(parts[1])},
		"score_market": {strconv.Itoa(parts[2])}, "score_plan": {strconv.Itoa(parts[3])},
		"score_local_fit": {strconv.Itoa(total - sum)}, "recommendation": {"approve"}, "overall_comment": {"技术路线清晰"}}
	return v
}

func TestExpertReview(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.openProgramme()
	id := e.underReview(p, "9000000.00")
	app, _ := e.db.FindApplication(ctx, id)
	path := "/applications/" + strconv.FormatInt(id, 10)
	experts, expertIDs := e.experts(6, applications.SectorNewEnergyMaterials, "exp")
	// conflicts: same employer and a declared tie
	_, conflicted := e.experts(2, applications.SectorNewEnergyMaterials, "cfl")
	_ = e.db.SaveExpertProfile(ctx, sys, conflicted[0], postgres.ExpertProfile{Employer: app.Enterprise, EmployerUSCC: app.EnterpriseUSCC,
		Sectors: []applications.Sector{applications.SectorNewEnergyMaterials}, Active: true})
	_ = e.db.SaveExpertProfile(ctx, sys, conflicted[1], postgres.ExpertProfile{Employer: "某大学", Ties: []int64{app.EnterpriseID},
		Sectors: []applications.Sector{applications.SectorNewEnergyMaterials}, Active: true})
	_, otherSector := e.experts(1, applications.SectorAI, "ai")

	staffC := e.loggedIn(applications.RoleStaff)
	staffC.get(path)
	if r := staffC.post(path+"/panel/draw", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("draw %d %s", r.StatusCode, r.body)
	}
	panel, _ := e.db.ListAssignments(ctx, id)
	t.Run("DrawExcludesConflictsAndOtherSectors", func(t *testing.T) {
		if len(panel) != 5 {
			t.Fatalf("panel of %d", len(panel))
		}
		for _, x := range panel {
			if x.ExpertID == conflicted[0] || x.ExpertID == conflicted[1] || x.ExpertID == otherSector[0] {
				t.Fatalf("conflicted or off-sector expert %d drawn", x.ExpertID)
			}
			if x.Seed == 0 || x.Seed != panel[0].Seed || x.Method != "random" {
				t.Fatalf("seed not recorded: %+v", x)
			}
		}
	})
	t.Run("ManualConflictRefused", func(t *testing.T) {
		r := staffC.post(path+"/panel/assign", url.Values{"expert_id": {strconv.FormatInt(conflicted[0], 10)}})
		if r.StatusCode != http.StatusConflict && r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	onPanel := map[int64]bool{}
	for _, x := range panel {
		onPanel[x.ExpertID] = true
	}
	var panelClients []*client // in panel order
	for _, x := range panel {
		panelClients = append(panelClients, clientOf(experts, expertIDs, x.ExpertID))
	}
	var outsider *client
	for i, c := range experts {
		if !onPanel[expertIDs[i]] {
			outsider = c
		}
	}
	docs, _ := e.db.ListDocuments(ctx, id)
	var formDoc, idDoc string
	for _, d := range docs {
		switch d.Item {
		case applications.MaterialApplicationForm:
			formDoc = "/documents/" + strconv.FormatInt(d.ID, 10)
		case applications.MaterialLegalRepID:
			idDoc = "/documents/" + strconv.FormatInt(d.ID, 10)
		}
	}
	rv := "/reviews/" + strconv.FormatInt(id, 10)
	t.Run("UnassignedExpertGets404", func(t *testing.T) {
		if r := outsider.get(rv); r.StatusCode != 404 {
			t.Fatalf("status %d", r.StatusCode)
		}
		if r := outsider.get(formDoc); r.StatusCode != 404 {
			t.Fatalf("document status %d", r.StatusCode)
		}
	})
	first := panelClients[0]
	t.Run("NothingVisibleBeforeDeclaring", func(t *testing.T) {
		d := first.get(rv).doc(t)
		if d.Find("#declaration").Length() != 1 || d.Find("#score-form").Length() != 0 || d.Find("#expert-materials").Length() != 0 {
			t.Fatal("materials or scoring shown before the declaration")
		}
		if r := first.get(formDoc); r.StatusCode != 404 {
			t.Fatalf("document before declaring: %d", r.StatusCode)
		}
	})
	if r := first.post(rv+"/declare", url.Values{"decision": {"none"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("declare %d", r.StatusCode)
	}
	t.Run("ExpertSeesMaterialsButNeverIDs", func(t *testing.T) {
		d := first.get(rv).doc(t)
		if strings.Contains(d.Find("#expert-materials").Text(), "身份证") || strings.Contains(d.Find("#expert-materials").Text(), "征信") {
			t.Fatal("sensitive items listed to the expert")
		}
		if r := first.get(formDoc); r.StatusCode != 200 {
			t.Fatalf("application form: %d", r.StatusCode)
		}
		if r := first.get(idDoc); r.StatusCode != 403 {
			t.Fatalf("ID copy: %d", r.StatusCode)
		}
	})
	t.Run("ScoreAboveWeightRefused", func(t *testing.T) {
		f := scoreForm(80)
		f.Set("score_technology", "31")
		r := first.post(rv, f)
		if r.StatusCode != 422 || !strings.Contains(r.doc(t).Find("#f-score_technology").Parent().Find(".error").Text(), "0 到 30") {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	if r := first.post(rv, scoreForm(80)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit %d %s", r.StatusCode, r.doc(t).Find(".error").Text())
	}
	t.Run("SecondSubmissionRefused", func(t *testing.T) {
		if r := first.post(rv, scoreForm(90)); r.StatusCode != http.StatusConflict {
			t.Fatalf("status %d", r.StatusCode)
		}
		var n int
		_ = e.db.Pool.QueryRow(ctx, `UPDATE reviews SET total = 1 RETURNING 1`).Scan(&n)
		if n == 1 {
			t.Fatal("a locked review was updated")
		}
	})
	t.Run("OtherExpertsScoresHidden", func(t *testing.T) {
		second := panelClients[1]
		second.post(rv+"/declare", url.Values{"decision": {"none"}})
		if body := second.get(rv).body; strings.Contains(body, "技术路线清晰") || strings.Contains(body, "80.0") {
			t.Fatal("another expert's review is visible")
		}
	})
	t.Run("RecusalAndReplacement", func(t *testing.T) {
		third := panelClients[2]
		if r := third.post(rv+"/declare", url.Values{"decision": {"recuse"}, "reason": {"曾为该企业提供咨询"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("recuse %d", r.StatusCode)
		}
		if r := staffC.post(path+"/panel/draw", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("replacement draw %d %s", r.StatusCode, r.body)
		}
		panel, _ = e.db.ListAssignments(ctx, id)
		if len(panel) != 6 || panel[5].Method != "replacement" {
			t.Fatalf("panel after replacement: %+v", panel)
		}
	})
	// Everyone still open scores.
	scores := []int{80, 70, 0, 75, 65, 90}
	for i, x := range panel {
		if x.Status == "recused" || x.Status == "submitted" {
			continue
		}
		c := clientOf(experts, expertIDs, x.ExpertID)
		c.post(rv+"/declare", url.Values{"decision": {"none"}})
		if r := c.post(rv, scoreForm(scores[i])); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("expert %d submit: %d %s", x.ExpertID, r.StatusCode, r.doc(t).Find(".error").Text())
		}
	}
	t.Run("ReviewedWithTrimmedMean", func(t *testing.T) {
		a, _ := e.db.FindApplication(ctx, id)
		if a.State != applications.StateReviewed {
			t.Fatalf("state %s", a.State)
		}
		p, _ := e.db.FindProgramme(ctx, a.ProgrammeID)
		result, _, _ := e.db.ReviewResult(ctx, a, p)
		// totals 80, 70, 75, 65, 90: drop 90 and 65 → (80+70+75)/3 = 75
		if result.N != 5 || result.Aggregate.String() != "75" || !result.Passed {
			t.Fatalf("%+v", result)
		}
		if r := staffC.get(path + "/scores.xlsx"); r.StatusCode != 200 || !strings.HasPrefix(r.body, "PK") {
			t.Fatalf("score sheet %d", r.StatusCode)
		}
	})
	t.Run("EnterpriseSeesAggregateNotWho", func(t *testing.T) {
		d := e.loggedIn(applications.RoleEnterprise).get(path).doc(t)
		if !strings.Contains(d.Find("#aggregate-score").Text(), "75.00") {
			t.Fatalf("aggregate %q", d.Find("#aggregate-score").Text())
		}
		if d.Find("#expert-scores").Length() != 0 || d.Find("#panel").Length() != 0 || strings.Contains(d.Text(), "专家exp") {
			t.Fatal("expert identities shown to the enterprise")
		}
	})
}

func clientOf(cs []*client, ids []int64, id int64) *client {
	for i := range ids {
		if ids[i] == id {
			return cs[i]
		}
	}
	return nil
}

// reviewed makes an application reviewed directly.
func (e *env) reviewed(p applications.Programme, amount string) int64 {
	e.t.Helper()
	id := e.underReview(p, amount)
	if _, err := e.db.TransitionApplication(context.Background(), sys, id, applications.StateReviewed, "", nil); err != nil {
		e.t.Fatal(err)
	}
	return id
}

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
		return url.Values{"kind": {"approve"}, "amount": {amount}, "terms": {string(p.TermsTemplate)}}
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
		if r := c.post("/decisions/"+strconv.FormatInt(did, 10)+"/approve", nil); r.StatusCode != 403 {
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
	appr.get(path)
	if r := appr.post("/decisions/"+strconv.FormatInt(decisions[0].ID, 10)+"/approve", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve %d %s", r.StatusCode, r.body)
	}
	a, _ := e.db.FindApplication(ctx, id)
	t.Run("ApprovedWithNotice", func(t *testing.T) {
		if a.State != applications.StateApproved || a.ApprovedAmount.Decimal.StringFixed(2) != "8000000.00" || a.NoticeEndsOn.IsZero() {
			t.Fatalf("%s %v %v", a.State, a.ApprovedAmount, a.NoticeEndsOn)
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
		req, _ := http.NewRequest("POST", e.http.URL+path+"/agreement/sign?csrf_token="+url.QueryEscape(staffC.csrf), strings.NewReader(body.String()))
		req.Header.Set("Content-Type", ct)
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
		changed := strings.Replace(string(p.TermsTemplate), `"window_years": 5`, `"window_years": 6`, 1)
		if r := staffC.post(path+"/agreement/terms", url.Values{"terms": {changed}, "reason": {"延长转股期"}}); r.StatusCode != http.StatusSeeOther {
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

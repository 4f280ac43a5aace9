package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

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

// TestExpertDeclarationAndDraft: the declaration names the applicant and
// its people; the scoring form's 检查 shows every problem beside its field
// without locking; 保存草稿 keeps what was typed for the expert's return,
// unseen by staff and the result, and submitting removes it.
func TestExpertDeclarationAndDraft(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.openProgramme()
	id := e.underReview(p, "5000000.00")
	app, _ := e.db.FindApplication(ctx, id)
	if _, err := e.db.Pool.Exec(ctx, `UPDATE enterprises SET legal_rep = '王法人', contact_name = '李联系' WHERE id = $1`, app.EnterpriseID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool.Exec(ctx, `UPDATE applications SET lead_name = '刘负责',
		content = jsonb_set(content, '{team}', to_jsonb('创始人张创业；核心成员赵研发、钱工艺'::text)) WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	experts, expertIDs := e.experts(5, applications.SectorNewEnergyMaterials, "dft")
	staffC := e.loggedIn(applications.RoleStaff)
	path := "/applications/" + strconv.FormatInt(id, 10)
	staffC.get(path)
	if r := staffC.post(path+"/panel/draw", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("draw %d %s", r.StatusCode, r.body)
	}
	panel, _ := e.db.ListAssignments(ctx, id)
	ex := clientOf(experts, expertIDs, panel[0].ExpertID)
	rv := "/reviews/" + strconv.FormatInt(id, 10)

	t.Run("DeclarationNamesTheApplicantAndItsPeople", func(t *testing.T) {
		d := ex.get(rv).doc(t).Find("#declaration #conflict-parties")
		for sel, want := range map[string]string{"#party-enterprise": app.Enterprise, "#party-legal-rep": "王法人", "#party-lead": "刘负责",
			"#party-contact": "李联系", "#party-team": "赵研发"} {
			if got := d.Find(sel).Text(); want == "" || !strings.Contains(got, want) {
				t.Errorf("%s: %q, want %q", sel, got, want)
			}
		}
	})
	if r := ex.post(rv+"/declare", url.Values{"decision": {"none"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("declare %d", r.StatusCode)
	}
	status := func() applications.AssignmentStatus {
		x, err := e.db.FindAssignment(ctx, id, panel[0].ExpertID)
		if err != nil {
			t.Fatal(err)
		}
		return x.Status
	}
	t.Run("CheckShowsEveryProblemWithoutLocking", func(t *testing.T) {
		f := scoreForm(80)
		f.Set("score_technology", "31")
		f.Set("score_team", "12.3")
		f.Set("overall_comment", " ")
		f.Set("action", "check")
		r := ex.post(rv, f)
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", r.StatusCode)
		}
		d := r.doc(t)
		for field, want := range map[string]string{"score_technology": "0 到 30", "score_team": "半分", "overall_comment": "总体评审意见"} {
			if got := d.Find("#f-" + field).Parent().Find(".error").Text(); !strings.Contains(got, want) {
				t.Errorf("%s: %q, want %q", field, got, want)
			}
		}
		if v, _ := d.Find("#f-score_market").Attr("value"); v != "16" {
			t.Errorf("typed score not kept: %q", v)
		}
		if st := status(); st != applications.AssignmentDeclared {
			t.Fatalf("checking locked the review: %s", st)
		}
		var n int
		_ = e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM reviews`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d reviews after a check", n)
		}
	})
	t.Run("CheckPassesWithTheTotal", func(t *testing.T) {
		f := scoreForm(80)
		f.Set("action", "check")
		r := ex.post(rv, f)
		if r.StatusCode != http.StatusOK || !strings.Contains(r.doc(t).Find("#review-notice").Text(), "总分 80.0 分") || status() != applications.AssignmentDeclared {
			t.Fatalf("status %d %q %s", r.StatusCode, r.doc(t).Find("#review-notice").Text(), status())
		}
	})
	t.Run("DraftSavedAndRestored", func(t *testing.T) {
		f := url.Values{"score_technology": {"22.5"}, "comment_technology": {"专利布局完整"}, "recommendation": {"revise"},
			"overall_comment": {"尚未写完的意见"}, "action": {"draft"}}
		if r := ex.post(rv, f); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("save draft %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		d := ex.get(rv).doc(t)
		if !strings.Contains(d.Find(".flash").Text(), "草稿已保存") || d.Find("#draft-note").Length() != 1 {
			t.Fatalf("flash %q, draft note %d", d.Find(".flash").Text(), d.Find("#draft-note").Length())
		}
		if v, _ := d.Find("#f-score_technology").Attr("value"); v != "22.5" {
			t.Errorf("score %q", v)
		}
		if v, _ := d.Find(`input[name=comment_technology]`).Attr("value"); v != "专利布局完整" {
			t.Errorf("comment %q", v)
		}
		if v, _ := d.Find(`#f-recommendation option[selected]`).Attr("value"); v != "revise" {
			t.Errorf("recommendation %q", v)
		}
		if v := d.Find("#f-overall_comment").Text(); v != "尚未写完的意见" {
			t.Errorf("overall %q", v)
		}
		if st := status(); st != applications.AssignmentDeclared {
			t.Fatalf("a draft locked the review: %s", st)
		}
	})
	t.Run("StaffDoNotSeeTheDraft", func(t *testing.T) {
		body := staffC.get(path).body
		if strings.Contains(body, "尚未写完的意见") || strings.Contains(body, "专利布局完整") {
			t.Fatal("staff see the expert's draft")
		}
		if _, reviews, _ := e.db.ReviewResult(ctx, app, p); len(reviews) != 0 {
			t.Fatalf("%d reviews count towards the result", len(reviews))
		}
	})
	t.Run("SubmitLocksAndRemovesTheDraft", func(t *testing.T) {
		if r := ex.post(rv, scoreForm(80)); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("submit %d %s", r.StatusCode, r.doc(t).Find(".error").Text())
		}
		var n int
		_ = e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM review_drafts`).Scan(&n)
		if n != 0 || status() != applications.AssignmentSubmitted {
			t.Fatalf("%d drafts left, %s", n, status())
		}
		if r := ex.post(rv, url.Values{"overall_comment": {"改一下"}, "action": {"draft"}}); r.StatusCode != http.StatusConflict {
			t.Fatalf("draft after submitting: %d", r.StatusCode)
		}
	})
}

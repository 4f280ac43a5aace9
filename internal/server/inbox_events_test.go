package server

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/internal/postgres"
)

// notifyWorld is env plus a second user of the roles that are notified as
// a group (so a test can tell "the enterprise's users" from "one user",
// "the liaison" from "all staff", "the approvers" from "the maker"), a
// user of another enterprise, and an email address for everyone.
type notifyWorld struct {
	*env
	names map[int64]string // user ID → username
	ids   map[string]int64
}

func newNotifyWorld(t *testing.T) *notifyWorld {
	e := newEnv(t)
	w := &notifyWorld{env: e, names: map[int64]string{}, ids: map[string]int64{}}
	ctx := context.Background()
	other, err := e.db.CreateEnterprise(ctx, sys, "另一家科技有限公司", applications.ExampleUSCC(2))
	if err != nil {
		t.Fatal(err)
	}
	extra := []postgres.NewUser{
		{Username: "enterprise2", Role: applications.RoleEnterprise, EnterpriseID: e.users[applications.RoleEnterprise].EnterpriseID},
		{Username: "outsider", Role: applications.RoleEnterprise, EnterpriseID: other.ID},
		{Username: "staff2", Role: applications.RoleStaff},
		{Username: "approver2", Role: applications.RoleApprover},
	}
	for _, n := range extra {
		n.DisplayName, n.PasswordHash = n.Username, mustHash(t)
		if _, err := e.db.CreateUser(ctx, sys, n); err != nil {
			t.Fatal(err)
		}
	}
	users, err := e.db.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		w.names[u.ID], w.ids[u.Username] = u.Username, u.ID
		if err := e.db.SetUserEmail(ctx, sys, u.ID, u.Username+"@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func mustHash(t *testing.T) string {
	h, err := auth.HashPassword(testPassword, fastParams)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (w *notifyWorld) actor(username string) audit.Actor {
	return audit.Actor{ID: w.ids[username], Name: username}
}

// mark is the newest notification's ID: what happens after it is new.
func (w *notifyWorld) mark() int64 {
	var id int64
	if err := w.db.Pool.QueryRow(context.Background(), `SELECT COALESCE(max(id), 0) FROM notifications`).Scan(&id); err != nil {
		w.t.Fatal(err)
	}
	return id
}

// since returns, sorted, who got an in-app notification of kind after
// mark, who got its email, and the kinds of any other notification.
func (w *notifyWorld) since(mark int64, kind postgres.NotifyKind) (notified, emailed, others []string) {
	w.t.Helper()
	rows, err := w.db.Pool.Query(context.Background(), `
		SELECT n.user_id, n.kind, n.link, o.to_address IS NOT NULL FROM notifications n
		LEFT JOIN email_outbox o ON o.notification_id = n.id WHERE n.id > $1 ORDER BY n.id`, mark)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var uid int64
		var k, link string
		var mailed bool
		if err := rows.Scan(&uid, &k, &link, &mailed); err != nil {
			w.t.Fatal(err)
		}
		if k != string(kind) {
			others = append(others, k)
			continue
		}
		if link == "" || link[0] != '/' {
			w.t.Errorf("notification of %s to %s has no link to a page: %q", k, w.names[uid], link)
		}
		notified = append(notified, w.names[uid])
		if mailed {
			emailed = append(emailed, w.names[uid])
		}
	}
	slices.Sort(notified)
	slices.Sort(emailed)
	return notified, emailed, others
}

// expect runs act and checks that exactly want (usernames) got a
// notification of kind and its email, and nobody anything else unless
// also lists the other kinds the act notifies.
func (w *notifyWorld) expect(t *testing.T, kind postgres.NotifyKind, want []string, act func() error, also ...postgres.NotifyKind) {
	t.Helper()
	m := w.mark()
	if err := act(); err != nil {
		t.Fatal(err)
	}
	notified, emailed, others := w.since(m, kind)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(notified, want) {
		t.Errorf("%s notified %v, want exactly %v", kind, notified, want)
	}
	if !slices.Equal(emailed, want) {
		t.Errorf("%s emailed %v, want exactly %v", kind, emailed, want)
	}
	for _, k := range others {
		if !slices.Contains(also, postgres.NotifyKind(k)) {
			t.Errorf("unexpected notification of kind %q", k)
		}
	}
}

// TestNotificationRecipients walks one application from its draft to an
// upheld objection and one project through its money records, asserting
// for every event where someone must act next exactly who is told, in the
// inbox and by email.
func TestNotificationRecipients(t *testing.T) {
	w := newNotifyWorld(t)
	ctx := context.Background()
	p := w.openProgramme()
	entC := w.loggedIn(applications.RoleEnterprise)
	id := entC.createApplication(p.ID, "3000000.00")
	w.uploadAll(entC, id)
	path := "/applications/" + strconv.FormatInt(id, 10)
	everyStaff := []string{"staff", "staff2"}
	enterpriseUsers := []string{"enterprise", "enterprise2"}
	approvers := []string{"approver", "approver2"}

	steps := []struct {
		name string
		kind postgres.NotifyKind
		want []string
		act  func() error
		also []postgres.NotifyKind
	}{
		{"PrecheckWithoutLiaisonGoesToAllStaff", postgres.NotifyPrecheckAsked, everyStaff, func() error {
			return w.db.AskPrecheck(ctx, w.actor("enterprise"), id)
		}, nil},
		{"PrecheckCommentGoesToTheEnterprise", postgres.NotifyPrecheckComment, enterpriseUsers, func() error {
			if err := w.db.SetLiaison(ctx, w.actor("staff2"), id, w.ids["staff"]); err != nil {
				return err
			}
			return w.db.AddComment(ctx, w.actor("staff"), id, "", "请补充市场分析")
		}, nil},
		{"SubmissionGoesToTheLiaison", postgres.NotifySubmitted, []string{"staff"}, func() error {
			entC.get(path)
			if r := entC.post(path+"/submit", nil); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("submit %d", r.StatusCode)
			}
			return nil
		}, nil},
		{"ReturnGoesToTheEnterprise", postgres.NotifyReturned, enterpriseUsers, func() error {
			if err := w.db.ReviewMaterial(ctx, w.actor("staff"), id, applications.MaterialLegalRepID, false, "不清晰"); err != nil {
				return err
			}
			if _, err := w.db.AcceptRemainingMaterials(ctx, w.actor("staff"), id); err != nil {
				return err
			}
			_, err := w.db.TransitionApplication(ctx, w.actor("staff"), id, applications.StateReturned, "退回", postgres.ReviewOutcomeCheck(false))
			return err
		}, nil},
		{"ResubmissionGoesToTheLiaison", postgres.NotifySubmitted, []string{"staff"}, func() error {
			a, _ := w.db.FindApplication(ctx, id)
			m := applications.MaterialLegalRepID
			if r := entC.upload(id, m, w.validFields(m, a.EnterpriseUSCC), "id.pdf", bytes.NewReader(pdf)); r.StatusCode != http.StatusOK {
				t.Fatalf("upload %d", r.StatusCode)
			}
			_, err := w.db.TransitionApplication(ctx, w.actor("enterprise"), id, applications.StateSubmitted, "", postgres.SubmitCheck)
			return err
		}, nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) { w.expect(t, s.kind, s.want, s.act, s.also...) })
	}

	// Expert review: the panel, a recusal, the last score.
	if _, err := w.db.TransitionApplication(ctx, w.actor("staff"), id, applications.StateUnderReview, "", nil); err != nil {
		t.Fatal(err)
	}
	_, experts := w.experts(6, applications.SectorNewEnergyMaterials, "ex")
	for i, ex := range experts {
		w.names[ex], w.ids["ex"+strconv.Itoa(i)] = "ex"+strconv.Itoa(i), ex
		_ = w.db.SetUserEmail(ctx, sys, ex, "ex"+strconv.Itoa(i)+"@example.com")
	}
	t.Run("AssignmentGoesToTheExpert", func(t *testing.T) {
		w.expect(t, postgres.NotifyPanelAssigned, []string{"ex0"}, func() error {
			return w.db.AssignExpert(ctx, w.actor("staff"), id, experts[0])
		})
	})
	t.Run("RecusalGoesToTheLiaison", func(t *testing.T) {
		w.expect(t, postgres.NotifyPanelRefill, []string{"staff"}, func() error {
			return w.db.Declare(ctx, w.actor("ex0"), id, experts[0], true, "曾在该企业任职")
		})
	})
	t.Run("LastScoreGoesToTheLiaison", func(t *testing.T) {
		for _, ex := range experts[1:] {
			if err := w.db.AssignExpert(ctx, w.actor("staff"), id, ex); err != nil {
				t.Fatal(err)
			}
		}
		for i, ex := range experts[1:] {
			if err := w.db.Declare(ctx, w.actor(w.names[ex]), id, ex, false, ""); err != nil {
				t.Fatal(err)
			}
			act := func() error {
				return w.db.SubmitReview(ctx, w.actor(w.names[ex]), id, ex, reviewInput())
			}
			if i < 4 {
				if err := act(); err != nil {
					t.Fatal(err)
				}
				continue
			}
			w.expect(t, postgres.NotifyReviewsComplete, []string{"staff"}, act)
		}
	})

	// The decision, sent back once, then approved; the notice; an
	// objection proposed, sent back, proposed again and approved.
	var did int64
	prepare := func() error {
		var err error
		did, err = w.db.PrepareDecision(ctx, w.actor("staff"), id, applications.DecisionInput{Approve: true,
			Amount: decimal.RequireFromString("3000000"), Terms: p.TermsTemplate})
		return err
	}
	t.Run("DecisionGoesToTheApprovers", func(t *testing.T) { w.expect(t, postgres.NotifyApproval, approvers, prepare) })
	t.Run("SentBackDecisionGoesToItsMaker", func(t *testing.T) {
		w.expect(t, postgres.NotifySentBack, []string{"staff"}, func() error {
			return w.db.SendBackDecision(ctx, w.actor("approver"), did, "金额依据不足")
		})
	})
	t.Run("SecondDecisionByAnotherMaker", func(t *testing.T) {
		w.expect(t, postgres.NotifyApproval, approvers, func() error {
			var err error
			did, err = w.db.PrepareDecision(ctx, w.actor("staff2"), id, applications.DecisionInput{Approve: true,
				Amount: decimal.RequireFromString("3000000"), Terms: p.TermsTemplate})
			return err
		})
	})
	t.Run("ApprovalGoesToTheEnterprise", func(t *testing.T) {
		w.expect(t, postgres.NotifyOutcome, enterpriseUsers, func() error { return w.db.ApproveDecision(ctx, w.actor("approver2"), did) })
	})
	a, _ := w.db.FindApplication(ctx, id)
	if err := w.db.RecordObjection(ctx, w.actor("staff2"), id, a.NoticeStartsOn, "专利已转让"); err != nil {
		t.Fatal(err)
	}
	obs, _ := w.db.ListObjections(ctx, id)
	oid := obs[0].ID
	t.Run("UpholdProposalGoesToTheApprovers", func(t *testing.T) {
		w.expect(t, postgres.NotifyApproval, approvers, func() error { return w.db.ResolveObjection(ctx, w.actor("staff2"), oid, true, "属实") })
	})
	t.Run("SentBackProposalGoesToItsMaker", func(t *testing.T) {
		w.expect(t, postgres.NotifySentBack, []string{"staff2"}, func() error { return w.db.SendBackObjection(ctx, w.actor("approver"), oid, "证据不足") })
	})
	t.Run("UpholdApprovedGoesToTheEnterprise", func(t *testing.T) {
		if err := w.db.ResolveObjection(ctx, w.actor("staff2"), oid, true, "补充证据后属实"); err != nil {
			t.Fatal(err)
		}
		w.expect(t, postgres.NotifyOutcome, enterpriseUsers, func() error { return w.db.ApproveObjection(ctx, w.actor("approver"), oid) })
	})

	// A second application whose notice ends, then the money records.
	id2 := w.reviewed(p, "3000000.00")
	did2, err := w.db.PrepareDecision(ctx, w.actor("staff"), id2, applications.DecisionInput{Approve: true,
		Amount: decimal.RequireFromString("3000000"), Terms: p.TermsTemplate})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.db.ApproveDecision(ctx, w.actor("approver"), did2); err != nil {
		t.Fatal(err)
	}
	t.Run("NoticeEndWithoutLiaisonGoesToEnterpriseAndAllStaff", func(t *testing.T) {
		w.clock.Advance(20 * 24 * time.Hour)
		m := w.mark()
		if _, err := w.db.CloseEndedNotices(ctx); err != nil {
			t.Fatal(err)
		}
		notified, emailed, others := w.since(m, postgres.NotifyNoticeEnded)
		want := []string{"enterprise", "enterprise2", "staff", "staff2"}
		if !slices.Equal(notified, want) || !slices.Equal(emailed, want) || len(others) > 0 {
			t.Fatalf("notified %v emailed %v others %v, want %v", notified, emailed, others, want)
		}
	})
	t.Run("AppropriationGoesToTheApprovers", func(t *testing.T) {
		w.expect(t, postgres.NotifyApproval, approvers, func() error {
			_, err := w.db.RecordAppropriation(ctx, w.actor("staff"), postgres.AppropriationInput{ProgrammeID: p.ID,
				Amount: decimal.RequireFromString("1000000"), ValueDate: w.clock.Now(), Reference: "财预〔2026〕9号", IdempotencyKey: auth.NewToken()})
			return err
		})
	})
	t.Run("RejectedAppropriationGoesToItsMaker", func(t *testing.T) {
		aps, _ := w.db.ListAppropriations(ctx, postgres.AppropriationFilter{})
		w.expect(t, postgres.NotifySentBack, []string{"staff"}, func() error {
			_, err := w.db.RejectAppropriation(ctx, w.actor("approver"), aps[0].ID, auth.NewToken(), "文号有误")
			return err
		})
	})
}

// TestEmailOptOut: a user who turns a kind's email off still gets the
// in-app notification, and no outbox row.
func TestEmailOptOut(t *testing.T) {
	t.Parallel()
	w := newNotifyWorld(t)
	ctx := context.Background()
	staffC := w.loggedIn(applications.RoleStaff)
	page := staffC.get("/settings/notifications").doc(t)
	if page.Find(`#email-submitted`).Length() != 1 || page.Find(`#email-approval`).Length() != 0 {
		t.Fatal("the settings page does not list staff's kinds (and only those)")
	}
	if _, on := page.Find(`#email-submitted`).Attr("checked"); !on {
		t.Fatal("email is not on by default")
	}
	form := url.Values{}
	for _, k := range postgres.NotifyKindsFor(applications.RoleStaff) {
		if k != postgres.NotifySubmitted {
			form.Add("email", string(k))
		}
	}
	if r := staffC.post("/settings/notifications", form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save %d", r.StatusCode)
	}
	if _, on := staffC.get("/settings/notifications").doc(t).Find(`#email-submitted`).Attr("checked"); on {
		t.Fatal("the page still shows the email on")
	}
	p := w.openProgramme()
	entC := w.loggedIn(applications.RoleEnterprise)
	id := entC.createApplication(p.ID, "3000000.00")
	w.uploadAll(entC, id)
	m := w.mark()
	if _, err := w.db.TransitionApplication(ctx, w.actor("enterprise"), id, applications.StateSubmitted, "", postgres.SubmitCheck); err != nil {
		t.Fatal(err)
	}
	notified, emailed, _ := w.since(m, postgres.NotifySubmitted)
	if !slices.Equal(notified, []string{"staff", "staff2"}) || !slices.Equal(emailed, []string{"staff2"}) {
		t.Fatalf("notified %v emailed %v; want both staff in the inbox and only staff2 by email", notified, emailed)
	}
	// Another kind is still emailed to the user who opted out of one.
	m = w.mark()
	if err := w.db.AskPrecheck(ctx, w.actor("enterprise"), id); err == nil {
		t.Fatal("pre-check of a submitted application accepted")
	}
	if err := w.db.SetLiaison(ctx, w.actor("staff"), id, w.ids["staff"]); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.TransitionApplication(ctx, w.actor("staff"), id, applications.StateReturned, "退回", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.TransitionApplication(ctx, w.actor("enterprise"), id, applications.StateSubmitted, "", nil); err != nil {
		t.Fatal(err)
	}
	if notified, emailed, _ := w.since(m, postgres.NotifySubmitted); !slices.Equal(notified, []string{"staff"}) || len(emailed) != 0 {
		t.Fatalf("resubmission: notified %v emailed %v", notified, emailed)
	}
}

// reviewInput is a passing review (85 of 100).
func reviewInput() applications.ReviewInput {
	d := decimal.RequireFromString
	return applications.ReviewInput{Scores: map[string]decimal.Decimal{"technology": d("25"), "team": d("17"), "market": d("17"),
		"plan": d("17"), "local_fit": d("9")}, Overall: "技术路线清晰", Recommendation: "approve"}
}

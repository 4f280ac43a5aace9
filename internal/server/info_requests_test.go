package server

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ite/internal/applications"
	"ite/internal/day"
	"ite/internal/postgres"
)

// TestInfoRequests: staff ask the enterprise for information with a due
// day from the application page; exactly the enterprise's users are told
// (inbox and email); the request is on the enterprise's and the asker's
// to-do lists; the enterprise answers with text and a file; exactly the
// asker and the liaison are told, and it leaves both lists. Bad input is a
// 4xx with a Chinese message and writes nothing.
func TestInfoRequests(t *testing.T) {
	w := newNotifyWorld(t)
	ctx := context.Background()
	p := w.openProgramme()
	id := w.submitted(p)
	path := "/applications/" + strconv.FormatInt(id, 10)
	staffC := w.loggedIn(applications.RoleStaff)
	entC := w.loggedIn(applications.RoleEnterprise)
	due := day.Today(w.clock.Now()).AddDate(0, 0, 14)
	rows := func() int {
		var n int
		if err := w.db.Pool.QueryRow(ctx, `SELECT count(*) FROM info_requests`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("RefusedWithoutBodyOrWithPastDue", func(t *testing.T) {
		staffC.get(path)
		for _, f := range []url.Values{
			{"body": {"  "}, "due_on": {day.ISO(due)}},
			{"body": {"请补充近三年财务报表"}, "due_on": {day.ISO(day.Today(w.clock.Now()))}},
			{"body": {"请补充近三年财务报表"}, "due_on": {"明天"}},
		} {
			r := staffC.post(path+"/info-requests", f)
			if r.StatusCode < 400 || r.StatusCode >= 500 {
				t.Fatalf("%v: status %d, want 4xx", f, r.StatusCode)
			}
			if msg := r.doc(t).Find(".form-error, [role=alert]").Text(); !strings.ContainsAny(msg, "请须应") {
				t.Errorf("%v: no Chinese message saying what to do: %q", f, msg)
			}
			// what was typed is kept
			if got := r.doc(t).Find(`#info-request-form textarea[name=body]`).Text(); got != f.Get("body") && strings.TrimSpace(f.Get("body")) != "" {
				t.Errorf("typed body not kept: %q", got)
			}
		}
		if n := rows(); n != 0 {
			t.Fatalf("%d requests written by refused posts", n)
		}
	})
	t.Run("AnEnterpriseCannotAsk", func(t *testing.T) {
		entC.get(path)
		if r := entC.post(path+"/info-requests", url.Values{"body": {"x"}, "due_on": {day.ISO(due)}}); r.StatusCode != http.StatusForbidden {
			t.Fatalf("enterprise asking: %d", r.StatusCode)
		}
	})

	var rid int64
	t.Run("AskGoesToTheEnterprisesUsers", func(t *testing.T) {
		w.expect(t, postgres.NotifyInfoRequested, []string{"enterprise", "enterprise2"}, func() error {
			staffC.get(path)
			r := staffC.post(path+"/info-requests", url.Values{"body": {"请补充近三年财务报表"}, "due_on": {day.ISO(due)}})
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("ask: %d %s", r.StatusCode, r.body)
			}
			return w.db.Pool.QueryRow(ctx, `SELECT id FROM info_requests`).Scan(&rid)
		})
		var title string
		if err := w.db.Pool.QueryRow(ctx, `SELECT title FROM notifications WHERE kind = 'info_requested' LIMIT 1`).Scan(&title); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(title, day.Chinese(due)) {
			t.Errorf("notification %q does not say the due day %s", title, day.Chinese(due))
		}
	})
	link := path + "#info"
	t.Run("OnBothToDoLists", func(t *testing.T) {
		for name, c := range map[string]*client{"enterprise": entC, "staff": staffC} {
			d := c.get("/").doc(t)
			kind := map[string]string{"enterprise": "info_request", "staff": "info_open"}[name]
			links, counts, _ := todoRows(t, d)
			if !slices.Equal(links[kind], []string{link}) || counts[kind] != 1 {
				t.Errorf("%s: %s lists %v (count %d), want [%s]", name, kind, links[kind], counts[kind], link)
			}
			if due := d.Find("#todo-" + kind + " tr.todo-item td").Eq(4).Text(); !strings.Contains(due, day.Chinese(day.Today(w.clock.Now()).AddDate(0, 0, 14))) {
				t.Errorf("%s: due cell %q", name, due)
			}
		}
		// another staff member did not ask
		other := w.client()
		other.login("staff2", testPassword)
		if links, _, _ := todoRows(t, other.get("/").doc(t)); len(links["info_open"]) != 0 {
			t.Errorf("staff2 lists %v", links["info_open"])
		}
	})
	t.Run("OtherEnterpriseCannotAnswer", func(t *testing.T) {
		out := w.client()
		out.login("outsider", testPassword)
		out.get("/")
		r := out.postMultipart(path+"/info-requests/"+strconv.FormatInt(rid, 10)+"/answer", url.Values{"answer": {"x"}}, "evidence", "a.pdf", pdf)
		if r.StatusCode != http.StatusNotFound {
			t.Fatalf("outsider answering: %d", r.StatusCode)
		}
	})
	t.Run("EmptyAnswerRefused", func(t *testing.T) {
		entC.get(path)
		r := entC.post(path+"/info-requests/"+strconv.FormatInt(rid, 10)+"/answer", url.Values{"answer": {" "}})
		if r.StatusCode != http.StatusUnprocessableEntity && r.StatusCode != http.StatusBadRequest {
			t.Fatalf("empty answer: %d", r.StatusCode)
		}
		var st string
		_ = w.db.Pool.QueryRow(ctx, `SELECT status FROM info_requests WHERE id = $1`, rid).Scan(&st)
		if st != "open" {
			t.Fatalf("status %s after a refused answer", st)
		}
	})
	t.Run("AnswerGoesToTheAsker", func(t *testing.T) {
		w.expect(t, postgres.NotifyInfoAnswered, []string{"staff"}, func() error {
			entC.get(path)
			r := entC.postMultipart(path+"/info-requests/"+strconv.FormatInt(rid, 10)+"/answer",
				url.Values{"answer": {"已上传 2023—2025 年审计报告"}}, "evidence", "财务报表.pdf", pdf)
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("answer: %d %s", r.StatusCode, r.body)
			}
			return nil
		})
		d := staffC.get(path).doc(t)
		q := d.Find("#info-" + strconv.FormatInt(rid, 10))
		if q.AttrOr("data-answered", "") != "true" || !strings.Contains(q.Text(), "审计报告") || q.Find(`a[href^="/documents/"]`).Length() != 1 {
			t.Fatalf("answered request on the page: %q", q.Text())
		}
		if r := staffC.get(q.Find(`a[href^="/documents/"]`).AttrOr("href", "")); r.StatusCode != http.StatusOK {
			t.Fatalf("answer file: %d", r.StatusCode)
		}
		for name, c := range map[string]*client{"enterprise": entC, "staff": staffC} {
			links, _, _ := todoRows(t, c.get("/").doc(t))
			if len(links["info_request"])+len(links["info_open"]) != 0 {
				t.Errorf("%s still lists the answered request: %v", name, links)
			}
		}
	})
	t.Run("SecondAnswerRefused", func(t *testing.T) {
		entC.get(path)
		r := entC.post(path+"/info-requests/"+strconv.FormatInt(rid, 10)+"/answer", url.Values{"answer": {"再答一次"}})
		if r.StatusCode != http.StatusConflict {
			t.Fatalf("second answer: %d", r.StatusCode)
		}
	})
	t.Run("WithALiaisonTheAnswerGoesToAskerAndLiaison", func(t *testing.T) {
		if err := w.db.SetLiaison(ctx, w.actor("staff2"), id, w.ids["staff2"]); err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(time.Minute)
		rid2, err := w.db.AskInformation(ctx, w.actor("staff"), id, "请补充知识产权证明", due)
		if err != nil {
			t.Fatal(err)
		}
		w.expect(t, postgres.NotifyInfoAnswered, []string{"staff", "staff2"}, func() error {
			return w.db.AnswerInformation(ctx, w.actor("enterprise2"), id, rid2, "专利证书见附件材料", nil)
		})
	})
	t.Run("Audited", func(t *testing.T) {
		ev := w.auditEvents()
		if count(ev, "info_request") != 2 || count(ev, "info_answer") != 2 {
			t.Fatalf("audit: %d info_request, %d info_answer", count(ev, "info_request"), count(ev, "info_answer"))
		}
	})
}

package server

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
	"ite/internal/postgres"
)

// TestReviewDeadlines: staff set the experts' deadline when drawing the
// panel (or get ReviewWorkingDays working days on the China calendar);
// the deadline is in the expert's notification, on the expert's to-do
// rows (2026年3月31日) and on the staff panel; past it the row is marked
// overdue and staff see the review on their to-do list until it is done.
func TestReviewDeadlines(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.openProgramme()
	staffC := e.loggedIn(applications.RoleStaff)
	cs, experts := e.experts(5, applications.SectorNewEnergyMaterials, "dl")
	today := day.Today(e.clock.Now())

	t.Run("DefaultIsTenWorkingDaysOnTheCalendar", func(t *testing.T) {
		// A holiday in the period pushes the deadline one working day on.
		cal := applications.Calendar{Holidays: map[string]bool{}, Workdays: map[string]bool{}}
		plain := cal.AddWorkingDays(today, applications.ReviewWorkingDays)
		hol := today.AddDate(0, 0, 1)
		for !cal.Working(hol) {
			hol = hol.AddDate(0, 0, 1)
		}
		if err := e.db.SetCalendarDay(ctx, sys, hol, "holiday", "测试假日"); err != nil {
			t.Fatal(err)
		}
		got, err := e.db.DefaultReviewDeadline(ctx, today)
		if err != nil {
			t.Fatal(err)
		}
		cal.Holidays[hol.Format(time.DateOnly)] = true
		if want := cal.AddWorkingDays(today, applications.ReviewWorkingDays); !got.Equal(want) || !want.After(plain) {
			t.Fatalf("default deadline %s, want %s (without the holiday %s)", day.ISO(got), day.ISO(want), day.ISO(plain))
		}
	})

	id := e.underReview(p, "2000000.00")
	path := "/applications/" + strconv.FormatInt(id, 10)
	due := today.AddDate(0, 0, 7)
	t.Run("PastDeadlineRefused", func(t *testing.T) {
		staffC.get(path)
		r := staffC.post(path+"/panel/draw", url.Values{"due_on": {day.ISO(today)}})
		if r.StatusCode != http.StatusUnprocessableEntity && r.StatusCode != http.StatusBadRequest {
			t.Fatalf("draw with today's deadline: %d", r.StatusCode)
		}
		if !strings.Contains(r.doc(t).Text(), "评审截止日期须晚于今天") {
			t.Error("no message saying the deadline must be after today")
		}
		if xs, _ := e.db.ListAssignments(ctx, id); len(xs) != 0 {
			t.Fatalf("%d experts assigned by a refused draw", len(xs))
		}
	})
	t.Run("DrawWithDeadline", func(t *testing.T) {
		staffC.get(path)
		if r := staffC.post(path+"/panel/draw", url.Values{"due_on": {day.ISO(due)}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("draw: %d %s", r.StatusCode, r.body)
		}
		var titles []string
		rows, _ := e.db.Pool.Query(ctx, `SELECT title FROM notifications WHERE kind = $1`, string(postgres.NotifyPanelAssigned))
		for rows.Next() {
			var s string
			_ = rows.Scan(&s)
			titles = append(titles, s)
		}
		rows.Close()
		if len(titles) != 5 {
			t.Fatalf("%d notifications", len(titles))
		}
		for _, s := range titles {
			if !strings.Contains(s, "请于"+day.Chinese(due)+"前") {
				t.Errorf("notification %q does not give the deadline", s)
			}
		}
		cells := staffC.get(path).doc(t).Find("#panel-table td.due")
		if cells.Length() != 5 || strings.TrimSpace(cells.First().Text()) != day.Chinese(due) {
			t.Fatalf("panel deadlines: %d cells, first %q", cells.Length(), cells.First().Text())
		}
	})
	expertRow := func(c *client) (string, bool) {
		d := c.get("/").doc(t)
		cell := d.Find("#todo-declare tr.todo-item td").Eq(4)
		return strings.TrimSpace(cell.Text()), cell.Find(".overdue").Length() == 1
	}
	t.Run("ExpertSeesTheDeadline", func(t *testing.T) {
		if got, late := expertRow(cs[0]); got != day.Chinese(due) || late {
			t.Fatalf("expert's row: %q overdue %v", got, late)
		}
		if links, _, _ := todoRows(t, staffC.get("/").doc(t)); len(links["review_overdue"]) != 0 {
			t.Fatalf("overdue before the deadline: %v", links["review_overdue"])
		}
	})
	t.Run("OverdueAfterTheDeadline", func(t *testing.T) {
		// Expert 0 declares and scores in time; the others do not.
		if err := e.db.Declare(ctx, audit.Actor{ID: experts[0]}, id, experts[0], false, ""); err != nil {
			t.Fatal(err)
		}
		if err := e.db.SubmitReview(ctx, audit.Actor{ID: experts[0]}, id, experts[0], reviewInput()); err != nil {
			t.Fatal(err)
		}
		if err := e.db.Declare(ctx, audit.Actor{ID: experts[1]}, id, experts[1], false, ""); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(8 * 24 * time.Hour)
		late2 := e.client() // the earlier sessions have timed out
		late2.login("dl2", testPassword)
		staffC := e.loggedIn(applications.RoleStaff)
		if got, late := expertRow(late2); !late || !strings.Contains(got, day.Chinese(due)) {
			t.Fatalf("expert's row after the deadline: %q overdue %v", got, late)
		}
		d := staffC.get("/").doc(t)
		links, counts, _ := todoRows(t, d)
		want := slices.Repeat([]string{path + "#panel"}, 4)
		if !slices.Equal(links["review_overdue"], want) || counts["review_overdue"] != 4 {
			t.Fatalf("staff's overdue reviews %v (count %d), want 4", links["review_overdue"], counts["review_overdue"])
		}
		if txt := d.Find("#todo-review_overdue").Text(); !strings.Contains(txt, "尚未提交评分") || !strings.Contains(txt, "尚未声明利益冲突") {
			t.Errorf("overdue rows do not say what is missing: %q", txt)
		}
		if staffC.get(path).doc(t).Find("#panel-table td.due .overdue").Length() != 4 {
			t.Error("the panel does not mark the 4 overdue reviews")
		}
	})
}

// TestDefaultDeadlineHintFollowsCalendarAndDay: the panel form's default
// deadline is kept for the data generation (TestPageQueryCounts) but never
// outlives a change of the calendar or the China day it was computed for.
func TestDefaultDeadlineHintFollowsCalendarAndDay(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.underReview(e.openProgramme(), "2000000.00")
	e.listening()
	deadline := func(d time.Time) string {
		t.Helper()
		due, err := e.db.DefaultReviewDeadline(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		return day.Chinese(due)
	}
	want := func() string { t.Helper(); return deadline(day.Today(e.clock.Now())) }
	path := "/applications/" + strconv.FormatInt(id, 10)
	hintRe := regexp.MustCompile(`个工作日后（([^）]+)）`)
	var staffC *client
	hint := func() string {
		t.Helper()
		m := hintRe.FindStringSubmatch(staffC.get(path).body)
		if m == nil {
			t.Fatal("no default deadline on the panel form")
		}
		return m[1]
	}
	staffC = e.loggedIn(applications.RoleStaff)
	e.settle()
	first := hint()
	if first != want() || hint() != first {
		t.Fatalf("hint %s, want %s", first, want())
	}

	// A holiday within the period moves the deadline one working day on.
	cal := applications.Calendar{Holidays: map[string]bool{}, Workdays: map[string]bool{}}
	hol := day.Today(e.clock.Now()).AddDate(0, 0, 3)
	for !cal.Working(hol) {
		hol = hol.AddDate(0, 0, 1)
	}
	if err := e.db.SetCalendarDay(ctx, e.people().Staff, hol, "holiday", "测试假日"); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the hint after the holiday", func() bool { return hint() == want() })
	if hint() == first {
		t.Fatalf("the holiday on %s did not move the hint %s", day.ISO(hol), first)
	}

	// Two minutes before a midnight in China after which the default
	// differs (across a weekend it may not), signed in afresh, the form
	// read once; then the day turns, with no commit in between.
	for d := day.Today(e.clock.Now()); deadline(d) == deadline(d.AddDate(0, 0, 1)); d = d.AddDate(0, 0, 1) {
		e.clock.Advance(24 * time.Hour)
	}
	y, m, d := e.clock.Now().In(day.Zone).Date()
	e.clock.Advance(time.Date(y, m, d+1, 0, 0, 0, 0, day.Zone).Sub(e.clock.Now()) - 2*time.Minute)
	staffC = e.loggedIn(applications.RoleStaff)
	before := hint()
	if before != want() {
		t.Fatalf("before midnight the hint is %s, want %s", before, want())
	}
	e.clock.Advance(3 * time.Minute)
	if got := hint(); got != want() || got == before {
		t.Fatalf("after midnight the hint is %s, want %s (before midnight %s)", got, want(), before)
	}
}

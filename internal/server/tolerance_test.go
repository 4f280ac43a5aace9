package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"ite/internal/applications"
	"ite/internal/postgres"
)

// writeOffAfterReceipt takes example A's project (3,000,000.00 disbursed,
// the programme's only money) to recovery, books a receipt of received and
// prepares the write-off of the rest (3,000,000.00 − received); it returns
// the ending's ID, the staff and approver clients and the equity path.
func (e *env) writeOffAfterReceipt(received string) (int64, *client, *client, string) {
	t, ctx := e.t, context.Background()
	t.Helper()
	id := e.fundedA(strings.Replace(termsA, `"lapse_policy":"grant"`, `"lapse_policy":"repay"`, 1))
	e.clock.t = time.Date(2029, 1, 11, 2, 0, 0, 0, time.UTC)
	staffC, appr := e.loggedIn(applications.RoleStaff), e.loggedIn(applications.RoleApprover)
	path := "/applications/" + strconv.FormatInt(id, 10) + "/equity"
	staffC.get(path)
	appr.get(path)
	step := func(form url.Values) int64 {
		t.Helper()
		form.Set("idempotency_key", key())
		form.Set("value_date", "2029-01-11")
		var r response
		if form.Get("kind") == "write_off" {
			r = staffC.postMultipart("/applications/"+strconv.FormatInt(id, 10)+"/endings", form, "evidence", "尽职免责说明.pdf", pdf)
		} else {
			r = staffC.post("/applications/"+strconv.FormatInt(id, 10)+"/endings", form)
		}
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("prepare %v: %d %s", form, r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		ends, _ := e.db.ListEndings(ctx, id)
		return ends[0].ID
	}
	approve := func(nid int64) {
		t.Helper()
		if r := appr.post("/endings/"+strconv.FormatInt(nid, 10)+"/approve", withConfirm(nil)); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("approve: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
	}
	approve(step(url.Values{"kind": {"repay"}, "reason": {"按协议追回"}}))
	approve(step(url.Values{"kind": {"receipt"}, "amount": {received}, "reason": {"追回款"}}))
	return step(url.Values{"kind": {"write_off"}, "reason": {"企业经营失败，经办人员已尽职（尽职免责）"}}), staffC, appr, path
}

// TestLossToleranceGate: with the default tolerance of 80% and 3,000,000.00
// disbursed, a write-off of 2,400,000.00 lands exactly on the tolerance and
// is approved like any other; one of 2,400,000.01 is refused without the
// committee's minutes and approved with them (DOMAIN §16).
func TestLossToleranceGate(t *testing.T) {
	t.Parallel()
	t.Run("ExactlyAtToleranceAllowed", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		nid, _, appr, path := e.writeOffAfterReceipt("600000.00")
		if r := appr.post("/endings/"+strconv.FormatInt(nid, 10)+"/approve", withConfirm(nil)); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("approve at the tolerance: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		d := e.auditDetail("loss_check")
		if d["loss_ratio_before"] != "0.00%" || d["loss_ratio_after"] != "80.00%" || d["beyond_tolerance"] != false {
			t.Fatalf("audit detail: %v", d)
		}
		doc := appr.get(path).doc(t)
		if got := doc.Find(`[data-record="ending-` + strconv.FormatInt(nid, 10) + `"] .ratio-after`).Text(); got != "80.00%" {
			t.Fatalf("certificate ratio after %q", got)
		}
		// On the dashboard: at the tolerance, warned (from 64%), not beyond.
		cell := appr.get("/dashboard").doc(t).Find("#budget-table tbody tr td.loss-ratio")
		if !strings.Contains(cell.Text(), "80.00%") || !cell.HasClass("warn") || cell.HasClass("beyond") {
			t.Fatalf("dashboard loss ratio %q (class %q)", cell.Text(), cell.AttrOr("class", ""))
		}
	})
	t.Run("OneFenOver", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		nid, staffC, appr, path := e.writeOffAfterReceipt("599999.99")
		approvePath := "/endings/" + strconv.FormatInt(nid, 10) + "/approve"
		appID, _ := e.db.ProposalApplication(context.Background(), "endings", nid)
		t.Run("RefusedWithoutMinutes", func(t *testing.T) {
			r := appr.post(approvePath, withConfirm(nil))
			if r.StatusCode != http.StatusConflict || !strings.Contains(r.doc(t).Find("[role=alert]").Text(), "会议纪要") {
				t.Fatalf("status %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
			}
			if a, _ := e.db.FindApplication(context.Background(), appID); a.State != applications.StateRecovery {
				t.Fatalf("refused write-off moved the project to %s", a.State)
			}
		})
		t.Run("MinutesNeedNumberDateFile", func(t *testing.T) {
			r := staffC.post("/endings/"+strconv.FormatInt(nid, 10)+"/minutes", url.Values{"minutes_number": {"经开管纪〔2029〕1号"}, "minutes_date": {"2029-01-10"}})
			if r.StatusCode != 422 || !strings.Contains(r.body, "纪要文件") {
				t.Fatalf("minutes without file: %d", r.StatusCode)
			}
		})
		if r := staffC.postMultipart("/endings/"+strconv.FormatInt(nid, 10)+"/minutes",
			url.Values{"minutes_number": {"经开管纪〔2029〕1号"}, "minutes_date": {"2029-01-10"}}, "evidence", "管委会纪要.pdf", pdf); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("attach minutes: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		doc := appr.get(path).doc(t)
		if got := doc.Find(`[data-record="ending-` + strconv.FormatInt(nid, 10) + `"] .minutes-number`).Text(); got != "经开管纪〔2029〕1号" {
			t.Fatalf("approver sees minutes %q", got)
		}
		t.Run("AllowedWithMinutes", func(t *testing.T) {
			if r := appr.post(approvePath, withConfirm(nil)); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("approve with minutes: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
			}
			d := e.auditDetail("loss_check")
			if d["loss_ratio_before"] != "0.00%" || d["loss_ratio_after"] != "80.00%" || d["beyond_tolerance"] != true ||
				d["minutes_number"] != "经开管纪〔2029〕1号" || d["loss"] != "2400000.01" {
				t.Fatalf("audit detail: %v", d)
			}
			if v, err := e.db.VerifyLedger(context.Background()); err != nil || !v.OK {
				t.Fatalf("ledger verify: %+v %v", v, err)
			}
		})
	})
}

// TestExitLossBeyondTolerance: an exit whose loss takes the ratio above the
// tolerance is refused at approval until it carries the minutes; the exits
// section then shows the ratio before and after.
func TestExitLossBeyondTolerance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id := e.fundedA(termsA)
	cid := e.preparedConversion(id)
	if err := e.db.ApproveConversion(ctx, e.people().Approver, cid); err != nil {
		t.Fatal(err)
	}
	e.clock.t = time.Date(2027, 2, 1, 2, 0, 0, 0, time.UTC)
	xid, err := e.db.PrepareExit(ctx, e.people().Staff, id, postgres.ExitInput{Date: time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC),
		Rest: true, MarketValue: "100000.00", BuyerKind: "new_investor"}, key())
	if err != nil {
		t.Fatal(err)
	}
	xs, _ := e.db.ListExits(ctx, id)
	if !xs[0].Gain.IsNegative() {
		t.Skipf("the policy prices this exit without a loss: %s", xs[0].Gain)
	}
	staffC, appr := e.loggedIn(applications.RoleStaff), e.loggedIn(applications.RoleApprover)
	path := "/applications/" + strconv.FormatInt(id, 10) + "/equity"
	staffC.get(path)
	appr.get(path)
	x := strconv.FormatInt(xid, 10)
	t.Run("RefusedWithoutMinutes", func(t *testing.T) {
		if r := appr.post("/exits/"+x+"/approve", withConfirm(nil)); r.StatusCode != http.StatusConflict {
			t.Fatalf("status %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
	})
	if staffC.get(path).doc(t).Find(`[data-record="exit-`+x+`"] .minutes-form`).Length() != 1 {
		t.Fatal("no minutes form on the pending exit at a loss")
	}
	if r := staffC.postMultipart("/exits/"+x+"/minutes", url.Values{"minutes_number": {"管委会纪要〔2027〕2号"}, "minutes_date": {"2027-01-20"}},
		"evidence", "纪要.pdf", pdf); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("attach: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	if r := appr.post("/exits/"+x+"/approve", withConfirm(nil)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve with minutes: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	if d := e.auditDetail("loss_check"); d["beyond_tolerance"] != true || d["loss_ratio_before"] != "0.00%" || d["minutes_number"] != "管委会纪要〔2027〕2号" {
		t.Fatalf("audit: %v", d)
	}
	if got := appr.get(path).doc(t).Find(`[data-record="exit-` + x + `"] .ratio-after`).Text(); got == "" || got == "0.00%" {
		t.Fatalf("ratio after on the exits section: %q", got)
	}
}

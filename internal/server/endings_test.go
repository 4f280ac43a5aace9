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
)

func TestRecoveryAndWriteOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id := e.fundedA(strings.Replace(termsA, `"lapse_policy":"grant"`, `"lapse_policy":"repay"`, 1))
	e.clock.t = time.Date(2029, 1, 11, 2, 0, 0, 0, time.UTC)
	staffC, appr := e.loggedIn(applications.RoleStaff), e.loggedIn(applications.RoleApprover)
	path := "/applications/" + strconv.FormatInt(id, 10)
	staffC.get(path + "/equity")
	appr.get(path + "/equity")
	prepareApprove := func(form url.Values) {
		t.Helper()
		form.Set("idempotency_key", key())
		form.Set("value_date", "2029-01-11")
		var r response
		if form.Get("kind") == "write_off" {
			r = staffC.postMultipart(path+"/endings", form, "evidence", "尽职免责说明.pdf", pdf)
		} else {
			r = staffC.post(path+"/endings", form)
		}
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("prepare %v: %d %s", form, r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		ends, _ := e.db.ListEndings(ctx, id)
		t.Run("MakerCannotApprove", func(t *testing.T) {
			if r := staffC.post("/endings/"+strconv.FormatInt(ends[0].ID, 10)+"/approve", withConfirm(nil)); r.StatusCode != 403 {
				t.Fatalf("staff approving: %d", r.StatusCode)
			}
		})
		// The approver confirms the amount the approval books, in 大写: for
		// a recovery claim and a write-off, the balance it moves today.
		want := map[string]string{"repay": "您将批准追回资金，金额 人民币叁佰万元整（¥3,000,000.00）",
			"write_off": "您将批准尽职免责核销，金额 人民币贰佰万元整（¥2,000,000.00）"}[form.Get("kind")]
		if text := appr.get(path + "/equity").doc(t).Find(`form.approve-confirm [data-confirm-text]`).Text(); !strings.Contains(text, want) {
			t.Fatalf("confirmation %q, want %q", text, want)
		}
		if form.Get("kind") == "write_off" {
			t.Run("WriteOffWithoutConfirmationRefused", func(t *testing.T) {
				r := appr.post("/endings/"+strconv.FormatInt(ends[0].ID, 10)+"/approve", nil)
				if a, _ := e.db.FindApplication(ctx, id); r.StatusCode != http.StatusUnprocessableEntity || a.State != applications.StateRecovery {
					t.Fatalf("status %d, state %s", r.StatusCode, a.State)
				}
			})
		}
		if r := appr.post("/endings/"+strconv.FormatInt(ends[0].ID, 10)+"/approve", withConfirm(nil)); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("approve: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		if flash := appr.get(path + "/equity").doc(t).Find(".flash").Text(); !strings.Contains(flash, "已批准") {
			t.Fatalf("after the approval: %q", flash)
		}
	}
	prepareApprove(url.Values{"kind": {"repay"}, "reason": {"按协议追回"}})
	if a, _ := e.db.FindApplication(ctx, id); a.State != applications.StateRecovery || e.netByCode(id)["1131"] != "3000000.00" {
		t.Fatalf("after repay: %s %v", a.State, e.netByCode(id))
	}
	t.Run("ReceiptAboveOwedRefused", func(t *testing.T) {
		r := staffC.post(path+"/endings", url.Values{"idempotency_key": {key()}, "kind": {"receipt"}, "amount": {"3000000.01"},
			"reason": {"收款"}, "value_date": {"2029-01-11"}})
		if r.StatusCode != 422 {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	prepareApprove(url.Values{"kind": {"receipt"}, "amount": {"1000000.00"}, "reason": {"第一笔追回款"}})
	if a, _ := e.db.FindApplication(ctx, id); a.State != applications.StateRecovery {
		t.Fatalf("partly repaid: %s", a.State)
	}
	t.Run("WriteOffWithoutReasonRefused", func(t *testing.T) {
		r := staffC.postMultipart(path+"/endings", url.Values{"idempotency_key": {key()}, "kind": {"write_off"}, "value_date": {"2029-01-11"}},
			"evidence", "说明.pdf", pdf)
		if r.StatusCode != 422 || !strings.Contains(r.body, "理由") {
			t.Fatalf("status %d", r.StatusCode)
		}
		if n := e.blobCount(); n != 0 {
			t.Fatalf("refused write-off left %d blobs", n)
		}
	})
	t.Run("WriteOffWithoutEvidenceRefused", func(t *testing.T) {
		r := staffC.post(path+"/endings", url.Values{"idempotency_key": {key()}, "kind": {"write_off"}, "value_date": {"2029-01-11"},
			"reason": {"尽职免责"}})
		if r.StatusCode != 422 || !strings.Contains(r.body, "证明材料") {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	prepareApprove(url.Values{"kind": {"write_off"}, "reason": {"企业经营失败，经办人员已尽职（尽职免责）"}})
	a, _ := e.db.FindApplication(ctx, id)
	net := e.netByCode(id)
	if a.State != applications.StateWrittenOff || net["1131"] != "0.00" || net["1221"] != "0.00" || net["6711"] != "2000000.00" {
		t.Fatalf("after write-off: %s %v", a.State, net)
	}
	if v, err := e.db.VerifyLedger(ctx); err != nil || !v.OK {
		t.Fatalf("ledger verify: %+v %v", v, err)
	}
}

package server

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/ledger"
	"ite/internal/postgres"
)

// nets is the trial balance as each account's net, zero accounts left out.
func (e *env) nets() map[string]string {
	e.t.Helper()
	tb, _, err := e.db.TrialBalance(context.Background(), postgres.TrialFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, b := range tb.Lines() {
		if !b.Net().IsZero() {
			out[b.Account.String()] = b.Net().StringFixed(2)
		}
	}
	return out
}

func (e *env) countRows(sql string) int {
	e.t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// disburseTranche records and approves one disbursement in the store.
func (m *moneyEnv) disburseTranche(tranche int, amount, ref string) applications.Disbursement {
	m.t.Helper()
	ctx := context.Background()
	d, err := m.db.RecordDisbursement(ctx, m.actor(staff), applications.DisbursementInput{ApplicationID: m.app, Tranche: tranche,
		Amount: decimal.RequireFromString(amount), ValueDate: m.clock.Now().AddDate(0, 0, -1), Reference: ref,
		IdempotencyKey: newFormKey(context.Background())})
	if err != nil {
		m.t.Fatal(err)
	}
	if d, err = m.db.ApproveDisbursement(ctx, m.actor(approver), d.ID, newFormKey(context.Background())); err != nil {
		m.t.Fatal(err)
	}
	return d
}

// formValues reads a form's inputs as a browser would submit them.
func formValues(doc *goquery.Document, sel string) url.Values {
	form := url.Values{}
	doc.Find(sel + ` input, ` + sel + ` textarea`).Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		val, _ := s.Attr("value")
		if s.Is("textarea") {
			val = s.Text()
		}
		if name != "" && name != "csrf_token" {
			form.Set(name, val)
		}
	})
	return form
}

func TestReversalOverHTTP(t *testing.T) {
	t.Parallel()
	m := newMoneyEnv(t, "3000000.00", "2000000.00")
	ctx := context.Background()
	before := m.nets()
	d := m.disburseTranche(1, "1000000.00", "PZ-2026-0001")
	staffC, approverC := m.loggedIn(staff), m.loggedIn(approver)
	entryPath := "/ledger/entries/" + itoa(d.EntrySeq)

	r := staffC.get(entryPath)
	form := formValues(r.doc(t), `#reversal-form`)
	if r.StatusCode != 200 || form.Get("idempotency_key") == "" || form.Get("entry_seq") != itoa(d.EntrySeq) {
		t.Fatalf("entry page offers no reversal form: %d %v", r.StatusCode, form)
	}
	if r := m.loggedIn(auditor).get(entryPath); r.doc(t).Find(`#reversal-form`).Length() != 0 {
		t.Fatal("an auditor is offered the reversal form")
	}
	t.Run("EmptyReasonIs422", func(t *testing.T) {
		r := staffC.post("/ledger/reversals", form)
		if r.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(r.doc(t).Find(`#reversal-form .field.has-error .error`).Text(), "请填写冲正理由") {
			t.Fatalf("empty reason: %d", r.StatusCode)
		}
		if n := m.countRows(`SELECT count(*) FROM reversals`); n != 0 {
			t.Fatalf("%d requests written", n)
		}
	})
	form.Set("reason", "银行退票：收款账户户名有误，款项已原路退回")
	first, second := staffC.post("/ledger/reversals", form), staffC.post("/ledger/reversals", form) // a double click
	loc := first.Header.Get("Location")
	if first.StatusCode != http.StatusSeeOther || second.StatusCode != http.StatusSeeOther || second.Header.Get("Location") != loc ||
		!strings.HasPrefix(loc, "/ledger/reversals/") {
		t.Fatalf("double submit: %d %s / %d %s", first.StatusCode, loc, second.StatusCode, second.Header.Get("Location"))
	}
	if n := m.countRows(`SELECT count(*) FROM reversals`); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}

	t.Run("SecondRequestIs409", func(t *testing.T) {
		again := url.Values{}
		for k, v := range form {
			again[k] = v
		}
		again.Set("idempotency_key", newFormKey(context.Background()))
		r := staffC.post("/ledger/reversals", again)
		if r.StatusCode != http.StatusConflict || !strings.Contains(r.doc(t).Find(`[role=alert]`).Text(), "已有待审批的冲正申请") {
			t.Fatalf("second request: %d %q", r.StatusCode, r.doc(t).Find(`[role=alert]`).Text())
		}
		if href, _ := r.doc(t).Find(`#reversal-open a`).Attr("href"); href != loc {
			t.Fatalf("the entry page does not link the open request: %q", href)
		}
	})
	t.Run("RequesterApprovingOwnIs403", func(t *testing.T) {
		if _, err := m.db.Pool.Exec(ctx, `UPDATE users SET role = 'approver' WHERE id = $1`, m.users[staff].ID); err != nil {
			t.Fatal(err)
		}
		defer m.db.Pool.Exec(ctx, `UPDATE users SET role = 'staff' WHERE id = $1`, m.users[staff].ID) //nolint:errcheck
		page := staffC.get(loc)
		if page.doc(t).Find(`#approve-form`).Length() != 0 || page.doc(t).Find(`#maker-note`).Length() != 1 {
			t.Fatal("the requester is offered the approve form")
		}
		r := staffC.post(loc+"/approve", url.Values{"idempotency_key": {newFormKey(context.Background())}})
		if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "不能审批自己经办的事项") {
			t.Fatalf("requester approve: %d", r.StatusCode)
		}
	})
	t.Run("AuditorPostIs403", func(t *testing.T) {
		c := m.loggedIn(auditor)
		for _, path := range []string{"/ledger/reversals", loc + "/approve", loc + "/reject"} {
			if r := c.post(path, form); r.StatusCode != http.StatusForbidden {
				t.Errorf("auditor POST %s: %d", path, r.StatusCode)
			}
		}
	})
	t.Run("BadInputIs4xx", func(t *testing.T) {
		for _, f := range []url.Values{
			{"entry_seq": {"abc"}, "reason": {"x"}, "idempotency_key": {newFormKey(context.Background())}},
			{"entry_seq": {"99999"}, "reason": {"x"}, "idempotency_key": {newFormKey(context.Background())}},
			{"entry_seq": {itoa(d.EntrySeq)}, "reason": {"x"}},
		} {
			if r := staffC.post("/ledger/reversals", f); r.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("%v: %d", f, r.StatusCode)
			}
		}
		if r := approverC.post(loc+"/approve", url.Values{}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("approve without a key: %d", r.StatusCode)
		}
		if r := approverC.post("/ledger/reversals/999/approve", url.Values{"idempotency_key": {newFormKey(context.Background())}}); r.StatusCode != http.StatusNotFound {
			t.Errorf("approve a missing request: %d", r.StatusCode)
		}
	})

	page := approverC.get(loc)
	key, ok := page.doc(t).Find(`#approve-form input[name=idempotency_key]`).Attr("value")
	if !ok || key == "" || !strings.Contains(page.doc(t).Find(`#reversal-effect`).Text(), "项目累计拨付减少") {
		t.Fatalf("approver sees no approve form:\n%s", page.body)
	}
	a1 := approverC.post(loc+"/approve", url.Values{"idempotency_key": {key}})
	a2 := approverC.post(loc+"/approve", url.Values{"idempotency_key": {key}}) // retried
	if a1.StatusCode != http.StatusSeeOther || a2.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d / %d", a1.StatusCode, a2.StatusCode)
	}
	if n := m.countRows(`SELECT count(*) FROM ledger_entries WHERE kind = 'reversal'`); n != 1 {
		t.Fatalf("%d reversal entries, want 1", n)
	}

	t.Run("EntryReversesTheOriginal", func(t *testing.T) {
		page := approverC.get(loc)
		href, _ := page.doc(t).Find(`#record-entry`).Attr("href")
		seq := strings.TrimPrefix(href, "/ledger/entries/")
		got, err := m.db.FindEntry(ctx, d.EntrySeq+1)
		if err != nil || seq != itoa(got.Entry.Seq) || got.Entry.Kind != ledger.KindReversal || got.Entry.Reverses != d.EntrySeq {
			t.Fatalf("reversal entry %s: %+v %v", seq, got, err)
		}
		orig, _ := m.db.FindEntry(ctx, d.EntrySeq)
		for i, p := range got.Entry.Postings {
			o := orig.Entry.Postings[i]
			if p.Account != o.Account || !p.Amount.Equal(o.Amount) || p.Side != o.Side.Opposite() {
				t.Fatalf("posting %d %+v mirrors %+v", i, p, o)
			}
		}
		r := m.loggedIn(auditor).get("/ledger/entries/" + seq)
		if link, _ := r.doc(t).Find(`#entry-record a`).Attr("href"); link != loc {
			t.Fatalf("the reversal entry links to %q, want %q", link, loc)
		}
	})
	t.Run("MoneyIsBack", func(t *testing.T) {
		if after := m.nets(); len(after) != len(before) {
			t.Fatalf("trial balance before %v, after %v", before, after)
		} else {
			for k, v := range before {
				if after[k] != v {
					t.Fatalf("trial balance before %v, after %v", before, after)
				}
			}
		}
		plan, err := m.db.DisbursementPlan(ctx, m.app)
		if err != nil || !plan.Disbursed.IsZero() || !plan.FundBalance.Equal(decimal.RequireFromString("3000000")) {
			t.Fatalf("plan %+v %v", plan, err)
		}
		if got, _ := m.db.FindDisbursement(ctx, d.ID); got.Status != applications.MoneyReversed {
			t.Fatalf("disbursement %s", got.Status)
		}
		list := staffC.get("/disbursements?status=reversed").doc(t)
		if list.Find(`#disbursement-table tbody tr`).Length() != 1 || list.Find(`a.active[href$="status=reversed"]`).Length() != 1 {
			t.Fatal("the disbursement list does not filter the reversed one")
		}
		// Rows and titles quote the record as the journal does (拨付 BF-n)
		// and name the project's tranche, never the stored "#n".
		bf := "BF-" + itoa(d.ID)
		if link := list.Find(`#disbursement-table tbody tr td:first-child a`); strings.TrimSpace(link.Text()) != bf || link.AttrOr("href", "") != "/disbursements/"+itoa(d.ID) {
			t.Fatalf("first cell %q → %q", link.Text(), link.AttrOr("href", ""))
		}
		if title := staffC.get("/disbursements/" + itoa(d.ID)).doc(t).Find(`#record-title`).Text(); !strings.HasPrefix(title, "拨付 "+bf+"：") || !strings.Contains(title, "第 1 笔") || strings.Contains(title, "#") {
			t.Fatalf("record title %q", title)
		}
		if staffC.get("/disbursements?status=approved").doc(t).Find(`#disbursement-table tbody tr`).Length() != 0 {
			t.Fatal("a reversed disbursement is listed as approved")
		}
		if v, err := m.db.VerifyLedger(ctx); err != nil || !v.OK {
			t.Fatalf("verify: %+v %v", v, err)
		}
		if r := m.loggedIn(admin).get("/ledger/verify"); r.doc(t).Find(`#verify-ok`).Length() != 1 {
			t.Fatal("the verify page does not pass")
		}
	})
	t.Run("ReversingAgainIs409", func(t *testing.T) {
		for _, seq := range []int64{d.EntrySeq, d.EntrySeq + 1} {
			r := staffC.get("/ledger/entries/" + itoa(seq))
			// the original shows its (approved) request, the reversal why not
			if r.doc(t).Find(`#reversal-form`).Length() != 0 || r.doc(t).Find(`#reversal-open, #reversal-refusal`).Length() != 1 {
				t.Fatalf("entry %d still offers a reversal", seq)
			}
			f := url.Values{"entry_seq": {itoa(seq)}, "reason": {"再冲一次"}, "idempotency_key": {newFormKey(context.Background())}}
			if r := staffC.post("/ledger/reversals", f); r.StatusCode != http.StatusConflict {
				t.Fatalf("reversing entry %d again: %d", seq, r.StatusCode)
			}
		}
	})
	t.Run("TrancheCanBeDisbursedAgain", func(t *testing.T) {
		form := m.disbursementForm(staffC)
		if form.Get("amount") != "1,000,000.00" || form.Get("tranche") != "1" {
			t.Fatalf("form defaults after the reversal: %v", form)
		}
		form.Set("reference", "PZ-2026-0001")
		if r := staffC.post("/applications/"+itoa(m.app)+"/disbursements", form); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("record again: %d %s", r.StatusCode, r.doc(t).Find(`[role=alert]`).Text())
		}
		var id int64
		_ = m.db.Pool.QueryRow(ctx, `SELECT max(id) FROM disbursements`).Scan(&id)
		if _, err := m.db.ApproveDisbursement(ctx, m.actor(approver), id, newFormKey(context.Background())); err != nil {
			t.Fatal(err)
		}
		row := m.loggedIn(auditor).get("/ledger/register").doc(t).Find(`#register-table tr[data-app="` + itoa(m.app) + `"]`)
		if !strings.Contains(row.Text(), "1,000,000.00") {
			t.Fatalf("register row: %q", row.Text())
		}
		if v, err := m.db.VerifyLedger(ctx); err != nil || !v.OK {
			t.Fatalf("verify: %+v %v", v, err)
		}
	})
	t.Run("ListedForTheApprover", func(t *testing.T) {
		r := approverC.get("/ledger/reversals?status=approved")
		if r.doc(t).Find(`#reversal-table tbody tr`).Length() != 1 {
			t.Fatalf("approved list:\n%s", r.doc(t).Find(`#reversal-table`).Text())
		}
		row := r.doc(t).Find(`#reversal-table tbody tr`)
		if first := strings.TrimSpace(row.Find(`td:first-child a`).Text()); !regexp.MustCompile(`^CZ-\d+$`).MatchString(first) || strings.Contains(row.Text(), "#") {
			t.Fatalf("the reversal's row %q: not numbered CZ-n, or a stored #n shown", row.Text())
		}
		if r := approverC.get("/ledger/reversals"); r.doc(t).Find(`#reversal-empty`).Length() != 1 {
			t.Fatal("the approver's pending queue is not empty")
		}
	})
}

func TestReversalRefusedOverHTTP(t *testing.T) {
	t.Parallel()
	t.Run("AppropriationWhoseMoneyWasDisbursed", func(t *testing.T) {
		t.Parallel()
		m := newMoneyEnv(t, "1000000.00", "2000000.00")
		m.disburseTranche(1, "1000000.00", "PZ-1")
		// Staff ask (until issue 12 the admin did: DOMAIN §2, admins move
		// no money; AdminAsksToReverseAnAppropriation below).
		staffC := m.loggedIn(staff)
		r := staffC.get("/ledger/reversals")
		form := formValues(r.doc(t), `#reversal-request-form`)
		form.Set("entry_seq", "1")
		form.Set("reason", "文号登记错误")
		entries, audits := m.countRows(`SELECT count(*) FROM ledger_entries`), m.countRows(`SELECT count(*) FROM audit_log`)
		r = staffC.post("/ledger/reversals", form)
		if r.StatusCode != http.StatusConflict || !strings.Contains(r.doc(t).Find(`[role=alert]`).Text(), "不足以冲回") {
			t.Fatalf("status %d %q", r.StatusCode, r.doc(t).Find(`[role=alert]`).Text())
		}
		if m.countRows(`SELECT count(*) FROM reversals`) != 0 || m.countRows(`SELECT count(*) FROM ledger_entries`) != entries ||
			m.countRows(`SELECT count(*) FROM audit_log`) != audits {
			t.Fatal("a refused request wrote something")
		}
		if r := staffC.get("/ledger/entries/1"); r.doc(t).Find(`#reversal-form`).Length() != 0 ||
			!strings.Contains(r.doc(t).Find(`#reversal-refusal`).Text(), "不足以冲回") {
			t.Fatal("the entry page offers a reversal that would overdraw the fund")
		}
	})
	// Issue 12: the admin asks for no correction, of an appropriation
	// either (until then it could); it reads no entry or reversal page.
	adminRefused := func(t *testing.T, m *moneyEnv, seq int64) {
		t.Helper()
		adminC := m.loggedIn(admin)
		for _, path := range []string{"/ledger/entries/" + itoa(seq), "/ledger/reversals"} {
			if r := adminC.get(path); r.StatusCode != http.StatusForbidden {
				t.Fatalf("admin GET %s: %d, want 403", path, r.StatusCode)
			}
		}
		form := url.Values{"entry_seq": {itoa(seq)}, "reason": {"金额登记错误"}, "idempotency_key": {newFormKey(context.Background())}}
		if r := adminC.post("/ledger/reversals", form); r.StatusCode != http.StatusForbidden {
			t.Fatalf("admin request to reverse entry %d: %d, want 403", seq, r.StatusCode)
		}
		if m.countRows(`SELECT count(*) FROM reversals`) != 0 {
			t.Fatal("a refused request was written")
		}
		ctx := context.Background()
		if _, err := m.db.RequestReversal(ctx, m.actor(admin), applications.ReversalInput{EntrySeq: seq, Reason: "文号登记错误",
			IdempotencyKey: newFormKey(ctx)}); applications.ErrorKind(err) != applications.Forbidden {
			t.Fatalf("the store lets the admin ask for a reversal: %v", err)
		}
	}
	t.Run("AdminAsksToReverseAnAppropriation", func(t *testing.T) {
		t.Parallel()
		m := newMoneyEnv(t, "3000000.00", "2000000.00")
		adminRefused(t, m, 1) // entry 1 is the appropriation
	})
	t.Run("AdminAsksToReverseADisbursement", func(t *testing.T) {
		t.Parallel()
		m := newMoneyEnv(t, "3000000.00", "2000000.00")
		m.disburseTranche(1, "1000000.00", "PZ-ADM")
		adminRefused(t, m, 2)
	})
	t.Run("ConversionAndConvertedProject", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		ctx := context.Background()
		id := e.fundedA(termsA)
		who := e.people()
		cid := e.preparedConversion(id)
		if err := e.db.ApproveConversion(ctx, who.Approver, cid); err != nil {
			t.Fatal(err)
		}
		var conv, disb int64
		_ = e.db.Pool.QueryRow(ctx, `SELECT max(seq) FILTER (WHERE kind = 'conversion'), max(seq) FILTER (WHERE kind = 'disbursement')
			FROM ledger_entries`).Scan(&conv, &disb)
		staffC := e.loggedIn(staff)
		for _, tc := range []struct {
			seq    int64
			status int
			say    string
		}{
			{conv, http.StatusUnprocessableEntity, "「转股」凭证"},
			{disb, http.StatusConflict, "持股中"},
		} {
			page := staffC.get("/ledger/entries/" + itoa(tc.seq))
			if page.doc(t).Find(`#reversal-form`).Length() != 0 || !strings.Contains(page.doc(t).Find(`#reversal-refusal`).Text(), tc.say) {
				t.Fatalf("entry %d page: %q", tc.seq, page.doc(t).Find(`#reversal-refusal`).Text())
			}
			f := url.Values{"entry_seq": {itoa(tc.seq)}, "reason": {"记错了"}, "idempotency_key": {newFormKey(context.Background())}, "from": {"entry"}}
			r := staffC.post("/ledger/reversals", f)
			if r.StatusCode != tc.status || !strings.Contains(r.doc(t).Find(`[role=alert]`).Text(), tc.say) {
				t.Fatalf("entry %d: %d %q", tc.seq, r.StatusCode, r.doc(t).Find(`[role=alert]`).Text())
			}
		}
		if n := e.countRows(`SELECT count(*) FROM reversals`); n != 0 {
			t.Fatalf("%d requests written", n)
		}
	})
}

package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"ite/internal/applications"
	"ite/internal/fixture"
)

// convertedE is example E's project: example A's funding and conversion
// under fixture.TermsE (LPR1Y + 0.5%, 0% within 2 years, appraisal after
// 4 years).
func (e *env) convertedE() int64 {
	e.t.Helper()
	id := e.fundedA(fixture.TermsE)
	if err := e.db.ApproveConversion(context.Background(), e.people().Approver, e.preparedConversion(id)); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// exampleETranches are the three exit forms of DOMAIN §15 E.
var exampleETranches = []url.Values{
	{"date": {"2027-06-30"}, "units": {"12500.00"}, "buyer_kind": {"team"}, "buyer": {"创始团队"}, "market_value": {"2000000.00"}},
	{"date": {"2029-01-15"}, "units": {"12500.00"}, "buyer_kind": {"third_party"}, "buyer": {"某产业基金"},
		"exchange": {"上海联合产权交易所"}, "listing_no": {"G32029SH1000123"}, "transaction_price": {"1600000.00"}},
	{"date": {"2030-03-31"}, "rest": {"1"}, "buyer_kind": {"team"}, "buyer": {"创始团队"}, "appraiser": {"某资产评估有限公司"},
		"report_no": {"评报字〔2030〕第 18 号"}, "report_date": {"2030-03-01"}, "appraised_value": {"1300000.00"}, "filing_no": {"备 2030-0042"}},
}

// prepareExitForm submits an exit form (with the appraisal report when the
// form has an appraised value) and returns the response.
func (e *env) prepareExitForm(c *client, appID int64, form url.Values) response {
	e.t.Helper()
	path := "/applications/" + strconv.FormatInt(appID, 10)
	c.get(path + "/equity")
	f := copyForm(form)
	f.Set("idempotency_key", key())
	name := ""
	if f.Get("appraised_value") != "" {
		name = "评估报告.pdf"
	}
	return c.postMultipart(path+"/exits", f, "evidence", name, pdf)
}

// exitE prepares tranche i of example E through the form at a clock after
// its date and approves it as the approver (both signed in anew: the clock
// jumps past any session); it returns the exit's ID.
func (e *env) exitE(appID int64, i int) int64 {
	e.t.Helper()
	d, _ := time.Parse(time.DateOnly, exampleETranches[i].Get("date"))
	e.at(d.Add(50 * time.Hour))
	staff, approver := e.loggedIn(applications.RoleStaff), e.loggedIn(applications.RoleApprover)
	if r := e.prepareExitForm(staff, appID, exampleETranches[i]); r.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("prepare tranche %d: %d %s", i+1, r.StatusCode, r.doc(e.t).Find("[role=alert]").Text())
	}
	xs, err := e.db.ListExits(context.Background(), appID)
	if err != nil {
		e.t.Fatal(err)
	}
	id := xs[len(xs)-1].ID
	approver.get("/applications/" + strconv.FormatInt(appID, 10) + "/equity")
	if r := approver.post("/exits/"+strconv.FormatInt(id, 10)+"/approve", withConfirm(nil)); r.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("approve tranche %d: %d %s", i+1, r.StatusCode, r.doc(e.t).Find("[role=alert]").Text())
	}
	return id
}

// copyForm is a copy of form to change.
func copyForm(form url.Values) url.Values {
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	return f
}

// at sets the clock.
func (e *env) at(t time.Time) {
	e.clock.mu.Lock()
	e.clock.t = t
	e.clock.mu.Unlock()
}

func checkFigures(t *testing.T, d *goquery.Document, want map[string]string) {
	t.Helper()
	for sel, v := range want {
		if got := strings.TrimSpace(d.Find(sel).Text()); !strings.Contains(got, v) {
			t.Errorf("%s = %q, want %s", sel, got, v)
		}
	}
}

// TestExitExampleEThroughForm is DOMAIN §15 E over HTTP: the three tranches
// prepared through the exit form with the programme's policy and LPR1Y
// from the rate table, approved by the approver, every figure on the exit
// records and the prices explained on the equity page.
func TestExitExampleEThroughForm(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.convertedE()
	x1 := e.exitE(id, 0)
	t.Run("ThirdPartyNeedsListing", func(t *testing.T) {
		e.at(time.Date(2029, 1, 17, 2, 0, 0, 0, time.UTC))
		staff := e.loggedIn(applications.RoleStaff)
		f := copyForm(exampleETranches[1])
		f.Del("listing_no")
		r := e.prepareExitForm(staff, id, f)
		d := r.doc(t)
		if r.StatusCode != 422 || !strings.Contains(d.Find(".has-error:has(input[name=listing_no])").Text(), "挂牌编号") {
			t.Fatalf("status %d, alert %q", r.StatusCode, d.Find("[role=alert]").Text())
		}
		if v, _ := d.Find("input[name=exchange]").Attr("value"); v != "上海联合产权交易所" {
			t.Errorf("exchange not kept: %q", v)
		}
		if v, _ := d.Find("#exit-form select[name=buyer_kind] option[selected]").Attr("value"); v != "third_party" {
			t.Errorf("buyer not kept: %q", v)
		}
	})
	x2 := e.exitE(id, 1)
	t.Run("AppraisalRequiredAfterFourYears", func(t *testing.T) {
		e.at(time.Date(2030, 4, 2, 2, 0, 0, 0, time.UTC))
		staff := e.loggedIn(applications.RoleStaff)
		f := copyForm(exampleETranches[2])
		for _, k := range []string{"appraiser", "appraised_value", "report_no", "report_date", "filing_no"} {
			f.Del(k)
		}
		r := e.prepareExitForm(staff, id, f)
		d := r.doc(t)
		if r.StatusCode != 422 || d.Find(".has-error:has(input[name=appraised_value])").Length() != 1 {
			t.Fatalf("status %d, alert %q", r.StatusCode, d.Find("[role=alert]").Text())
		}
		if v, _ := d.Find("#exit-form input[name=date]").Attr("value"); v != "2030-03-31" {
			t.Errorf("date not kept: %q", v)
		}
		f = copyForm(exampleETranches[2])
		f.Del("filing_no")
		if r := e.prepareExitForm(staff, id, f); r.StatusCode != 422 || r.doc(t).Find(".has-error:has(input[name=filing_no])").Length() != 1 {
			t.Fatalf("no filing number: status %d", r.StatusCode)
		}
		if xs, _ := e.db.ListExits(context.Background(), id); len(xs) != 2 {
			t.Fatalf("a refused form stored an exit: %d", len(xs))
		}
	})
	x3 := e.exitE(id, 2)
	staff := e.loggedIn(applications.RoleStaff)

	records := []struct {
		id   int64
		want map[string]string
	}{
		{x1, map[string]string{"#x-status": "已批准", "#x-rate": "0.00%", "#x-rate-basis": "阶梯", "#x-rate-source": "持股满 2 年内",
			"#x-interest": "0.00 元", "#x-cap": "1,000,000.00 元", "#x-proceeds": "1,000,000.00 元", "#x-concession": "1,000,000.00 元", "#x-gain": "0.00 元",
			"#x-explain": "持股满 2 年内按本金回购"}},
		{x2, map[string]string{"#x-rate": "3.50%", "#x-rate-basis": "参考利率", "#x-rate-source": "一年期LPR 2025年5月20日 3.00% + 0.50%",
			"#x-interest": "157,643.84 元", "#x-cap": "1,157,643.84 元", "#x-market-value": "1,600,000.00 元", "#x-proceeds": "1,600,000.00 元",
			"#x-gain": "600,000.00 元", "#x-exchange": "上海联合产权交易所", "#x-listing": "G32029SH1000123",
			"#x-explain": "第三方通过产权交易所挂牌受让，按成交价"}},
		{x3, map[string]string{"#x-rate": "3.50%", "#x-rate-basis": "参考利率", "#x-rate-source": "一年期LPR 2025年5月20日 3.00% + 0.50%",
			"#x-interest": "182,287.67 元", "#x-cap": "1,182,287.67 元", "#x-appraised-value": "1,300,000.00 元", "#x-proceeds": "1,300,000.00 元",
			"#x-gain": "300,000.00 元", "#x-appraisal": "备 2030-0042",
			"#x-total-proceeds": "3,900,000.00 元", "#x-total-interest": "339,931.51 元", "#x-total-concession": "1,000,000.00 元",
			"#x-total-gain": "900,000.00 元", "#x-remaining": "0.00", "#x-moic": "1.300000", "#x-xirr": "6.025647%"}},
	}
	for i, rec := range records {
		t.Run("Record"+strconv.Itoa(i+1), func(t *testing.T) {
			r := staff.get("/exits/" + strconv.FormatInt(rec.id, 10))
			if r.StatusCode != 200 {
				t.Fatalf("status %d", r.StatusCode)
			}
			checkFigures(t, r.doc(t), rec.want)
		})
	}
	t.Run("RecordShowsTheReferenceEntry", func(t *testing.T) {
		d := staff.get("/exits/" + strconv.FormatInt(x3, 10)).doc(t)
		if !strings.Contains(d.Find("#x-explain").Text(), "按 2025年5月20日 一年期 LPR 3.00% 加 0.50% 计息") ||
			!strings.Contains(d.Find("#x-explain").Text(), "评估值高于回购价，按评估值") {
			t.Errorf("explain %q", d.Find("#x-explain").Text())
		}
	})
	t.Run("CertificateShowsEachRate", func(t *testing.T) {
		cs, err := e.db.ListConversions(context.Background(), id)
		if err != nil || len(cs) != 1 {
			t.Fatalf("conversions %d %v", len(cs), err)
		}
		d := staff.get("/conversions/" + strconv.FormatInt(cs[0].ID, 10) + "/certificate").doc(t)
		rows := d.Find("#certificate-exits tbody tr")
		want := [][3]string{{"0.00%", "阶梯", "阶梯利率（持股满 2 年内）0.00%"},
			{"3.50%", "参考利率", "一年期LPR 2025年5月20日 3.00% + 0.50%"}, {"3.50%", "参考利率", "一年期LPR 2025年5月20日 3.00% + 0.50%"}}
		if rows.Length() != 3 {
			t.Fatalf("%d exit rows on the certificate", rows.Length())
		}
		rows.Each(func(i int, s *goquery.Selection) {
			got := [3]string{strings.TrimSpace(s.Find(".cert-exit-rate").Text()), strings.TrimSpace(s.Find(".cert-exit-basis").Text()),
				strings.TrimSpace(s.Find(".cert-exit-source").Text())}
			if got != want[i] {
				t.Errorf("tranche %d: %q, want %q", i+1, got, want[i])
			}
		})
	})
	t.Run("EquityPageExplainsEachTranche", func(t *testing.T) {
		for _, c := range []*client{staff, e.loggedIn(applications.RoleEnterprise)} {
			d := c.get("/applications/" + strconv.FormatInt(id, 10) + "/equity").doc(t)
			rows := d.Find("#exit-table tbody tr")
			want := [][]string{{"持股满 2 年内按本金回购"},
				{"按 2025年5月20日 一年期 LPR 3.00% 加 0.50% 计息", "第三方通过产权交易所挂牌受让，按成交价"},
				{"按 2025年5月20日 一年期 LPR 3.00% 加 0.50% 计息", "评估值高于回购价，按评估值"}}
			if rows.Length() != 3 {
				t.Fatalf("%d exit rows", rows.Length())
			}
			rows.Each(func(i int, s *goquery.Selection) {
				for _, w := range want[i] {
					if !strings.Contains(s.Find(".exit-explain").Text(), w) {
						t.Errorf("tranche %d: %q lacks %q", i+1, s.Find(".exit-explain").Text(), w)
					}
				}
			})
			checkFigures(t, d, map[string]string{"#total-proceeds": "3,900,000.00", "#moic": "1.300000", "#xirr": "6.025647%"})
		}
	})
}

// TestRateTableChangeNeverChangesApprovedExit: the stored request is the
// record (DOMAIN §17). After an exit priced at the LPR is approved, the
// admin adds a back-dated entry; the exit's record recomputes the same, and
// a later tranche is not priced on a table that contradicts the approved
// one.
func TestRateTableChangeNeverChangesApprovedExit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.convertedE()
	e.exitE(id, 0)
	x2 := e.exitE(id, 1)
	staff := e.loggedIn(applications.RoleStaff)
	before := staff.get("/exits/" + strconv.FormatInt(x2, 10)).doc(t).Find("#exit-record").Text()

	admin := e.loggedIn(applications.RoleAdmin)
	admin.get("/admin/rates")
	if r := admin.post("/admin/rates/LPR1Y/entries", url.Values{"effective_date": {"2025-12-01"}, "rate": {"2.00"},
		"source": {"测试：补录"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add entry %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	after := staff.get("/exits/" + strconv.FormatInt(x2, 10)).doc(t)
	if got := after.Find("#exit-record").Text(); got != before {
		t.Fatalf("the record changed:\n%s\n%s", before, got)
	}
	checkFigures(t, after, map[string]string{"#x-interest": "157,643.84 元", "#x-rate-source": "一年期LPR 2025年5月20日 3.00% + 0.50%"})
	d := staff.get("/applications/" + strconv.FormatInt(id, 10) + "/equity").doc(t)
	checkFigures(t, d, map[string]string{"#total-proceeds": "2,600,000.00"})

	e.at(time.Date(2030, 4, 2, 2, 0, 0, 0, time.UTC))
	staff = e.loggedIn(applications.RoleStaff)
	r := e.prepareExitForm(staff, id, exampleETranches[2])
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.doc(t).Find("[role=alert]").Text(), "参考利率表") {
		t.Fatalf("status %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
}

// TestAdminRates: the admin keeps the table, with messages beside the
// fields, audited, append-only; the bureau reads it; nobody else writes.
func TestAdminRates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.at(time.Date(2025, 7, 1, 2, 0, 0, 0, time.UTC))
	admin := e.loggedIn(applications.RoleAdmin)
	d := admin.get("/admin/rates").doc(t)
	if n := d.Find("#series-LPR1Y .rate-entries tbody tr").Length(); n != 13 {
		t.Fatalf("seeded LPR1Y has %d entries, want 13", n)
	}
	if got := d.Find(`#series-LPR1Y tr[data-date="2025-05-20"] .rate`).Text(); got != "3.00%" {
		t.Errorf("2025-05-20 = %q", got)
	}
	good := url.Values{"effective_date": {"2025-06-20"}, "rate": {"2.90"}, "source": {"LPR 公告 2025-06-20"}}
	bad := []struct {
		name, field, value, input string
	}{
		{"RateNotANumber", "rate", "abc", "rate"},
		{"RateNegative", "rate", "-1", "rate"},
		{"RateTooManyDecimals", "rate", "2.123456", "rate"},
		{"DateMissing", "effective_date", "", "effective_date"},
		{"DateInFuture", "effective_date", "2025-08-20", "effective_date"},
		{"DateTaken", "effective_date", "2025-05-20", "effective_date"},
		{"SourceMissing", "source", " ", "source"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			f := copyForm(good)
			f.Set(c.field, c.value)
			r := admin.post("/admin/rates/LPR1Y/entries", f)
			d := r.doc(t)
			if r.StatusCode != 422 || d.Find("#rate-form-LPR1Y .has-error:has([name="+c.input+"])").Length() != 1 {
				t.Fatalf("status %d, alert %q", r.StatusCode, d.Find("[role=alert]").Text())
			}
			if c.field != "source" {
				if v, _ := d.Find("#rate-form-LPR1Y input[name=source]").Attr("value"); v != good.Get("source") {
					t.Errorf("source not kept: %q", v)
				}
			}
		})
	}
	if r := admin.post("/admin/rates/LPR1Y/entries", good); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	s, err := e.db.FindRateSeries(ctx, "LPR1Y")
	if err != nil {
		t.Fatal(err)
	}
	last := s.Entries[len(s.Entries)-1]
	if len(s.Entries) != 14 || last.Rate.StringFixed(4) != "0.0290" {
		t.Fatalf("entries %d, last %s", len(s.Entries), last.Rate)
	}
	var detail string
	if err := e.db.Pool.QueryRow(ctx, `SELECT detail::text FROM audit_log WHERE event = 'rate_entry_add'`).Scan(&detail); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail, `"after": "0.029000"`) {
		t.Errorf("audit detail %s", detail)
	}
	t.Run("CorrectionNeedsReason", func(t *testing.T) {
		r := admin.post("/admin/rates/LPR1Y/entries", url.Values{"corrects": {strconv.FormatInt(last.ID, 10)},
			"effective_date": {"2025-06-20"}, "rate": {"2.95"}, "source": {"更正"}})
		if r.StatusCode != 422 || !strings.Contains(r.doc(t).Find("[role=alert]").Text(), "原因") {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("CorrectionAuditedBeforeAfter", func(t *testing.T) {
		r := admin.post("/admin/rates/LPR1Y/entries", url.Values{"corrects": {strconv.FormatInt(last.ID, 10)},
			"effective_date": {"2025-06-20"}, "rate": {"2.95"}, "source": {"更正"}, "reason": {"录入错误"}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		var detail string
		if err := e.db.Pool.QueryRow(ctx, `SELECT detail::text FROM audit_log WHERE event = 'rate_entry_correct'`).Scan(&detail); err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{`"before": "0.029000"`, `"after": "0.029500"`, `"reason": "录入错误"`} {
			if !strings.Contains(detail, w) {
				t.Errorf("audit detail %s lacks %s", detail, w)
			}
		}
		d := admin.get("/admin/rates").doc(t)
		if got := d.Find(`#series-LPR1Y tr[data-date="2025-06-20"] .rate`).Text(); got != "2.95%" {
			t.Errorf("in force %q", got)
		}
		if r := admin.post("/admin/rates/LPR1Y/entries", url.Values{"corrects": {strconv.FormatInt(last.ID, 10)},
			"effective_date": {"2025-06-20"}, "rate": {"2.96"}, "source": {"更正"}, "reason": {"再改"}}); r.StatusCode != http.StatusConflict {
			t.Errorf("correcting a corrected entry: %d", r.StatusCode)
		}
	})
	t.Run("WithdrawnEntryEnteredAgain", func(t *testing.T) {
		s, _ := e.db.FindRateSeries(ctx, "LPR1Y")
		cur := s.Entries[len(s.Entries)-1]
		if r := admin.post("/admin/rates/LPR1Y/entries", url.Values{"corrects": {strconv.FormatInt(cur.ID, 10)},
			"effective_date": {"2025-06-20"}, "withdraw": {"1"}, "source": {"撤销"}, "reason": {"并无此次报价"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("withdraw %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		if s, _ := e.db.FindRateSeries(ctx, "LPR1Y"); len(s.Entries) != 13 {
			t.Fatalf("after withdrawal %d entries in force", len(s.Entries))
		}
		if r := admin.post("/admin/rates/LPR1Y/entries", url.Values{"effective_date": {"2025-06-20"}, "rate": {"2.95"},
			"source": {"重新登记"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("enter again %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		if s, _ := e.db.FindRateSeries(ctx, "LPR1Y"); len(s.Entries) != 14 || s.Entries[13].Corrects == 0 {
			t.Fatalf("entered again: %d entries", len(s.Entries))
		}
		if n := count(e.auditEvents(), "rate_entry_withdraw"); n != 1 {
			t.Errorf("%d withdrawals audited", n)
		}
	})
	t.Run("EntriesAreAppendOnly", func(t *testing.T) {
		if _, err := e.db.Pool.Exec(ctx, `UPDATE rate_entries SET rate = 0.01 WHERE id = $1`, last.ID); err == nil {
			t.Fatal("an entry was updated")
		}
		if _, err := e.db.Pool.Exec(ctx, `DELETE FROM rate_entries WHERE id = $1`, last.ID); err == nil {
			t.Fatal("an entry was deleted")
		}
	})
	t.Run("OnlyAdminWrites", func(t *testing.T) {
		for _, role := range []applications.Role{applications.RoleStaff, applications.RoleApprover, applications.RoleAuditor} {
			c := e.loggedIn(role)
			d := c.get("/admin/rates").doc(t)
			if d.Find("#series-LPR1Y").Length() != 1 || d.Find("form.rate-form, form.correct-form").Length() != 0 {
				t.Errorf("%s: page or forms wrong", role)
			}
			if r := c.post("/admin/rates/LPR1Y/entries", good); r.StatusCode != http.StatusForbidden {
				t.Errorf("%s wrote: %d", role, r.StatusCode)
			}
		}
		c := e.loggedIn(applications.RoleEnterprise)
		if r := c.get("/admin/rates"); r.StatusCode != http.StatusForbidden {
			t.Errorf("enterprise read: %d", r.StatusCode)
		}
	})
}

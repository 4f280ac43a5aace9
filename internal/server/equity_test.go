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
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/internal/conversion"
	"ite/internal/fixture"
	"ite/internal/postgres"
	"ite/web/format"
)

// termsA are example A's terms (DOMAIN §15).
const termsA = fixture.TermsA

func key() string { return auth.NewToken() }

// people are the env's users as the fixtures act.
func (e *env) people() fixture.People {
	ent := e.users[applications.RoleEnterprise]
	return fixture.People{EnterpriseID: ent.EnterpriseID, Enterprise: audit.Actor{ID: ent.ID, Name: ent.DisplayName},
		Staff:    audit.Actor{ID: e.users[applications.RoleStaff].ID, Name: "经办"},
		Approver: audit.Actor{ID: e.users[applications.RoleApprover].ID, Name: "审批"}}
}

// fundedA builds example A's funded project (fixture.FundedExampleA).
func (e *env) fundedA(terms string) int64 {
	e.t.Helper()
	id, err := fixture.FundedExampleA(context.Background(), e.db, e.openProgramme(), e.people(), terms)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// preparedConversion reports and verifies a 20,000,000 financing round of
// project id (example A's) and prepares its conversion; it returns the
// conversion's ID, awaiting an approver.
func (e *env) preparedConversion(id int64) int64 {
	e.t.Helper()
	ctx, who, t := context.Background(), e.people(), e.t
	ev, err := e.db.ReportEvent(ctx, who.Staff, applications.TriggerEvent{ApplicationID: id, Kind: applications.EventFinancing,
		EventDate: time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), Investors: "基金", NewMoney: decimal.RequireFromString("20000000"),
		PreMoneyValuation: decimal.RequireFromString("80000000"), PreMoneyUnits: decimal.RequireFromString("1000000"), Unit: "registered_capital"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.VerifyEvent(ctx, who.Staff, ev, true, ""); err != nil {
		t.Fatal(err)
	}
	cid, err := e.db.PrepareConversion(ctx, who.Staff, id, "", key())
	if err != nil {
		t.Fatal(err)
	}
	return cid
}

// balances returns the trial balance lines of one project's and its
// programme's accounts as net debit amounts by code.
func (e *env) netByCode(appID int64) map[string]string {
	rows, err := e.db.Pool.Query(context.Background(), `
		SELECT account_code, sum(CASE side WHEN 'debit' THEN amount ELSE -amount END)
		FROM ledger_postings WHERE (scope = 'app' AND scope_id = $1) OR (scope = 'prog' AND account_code IN ('6111','6711'))
		GROUP BY account_code`, appID)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var code string
		var v decimal.Decimal
		_ = rows.Scan(&code, &v)
		out[code] = v.StringFixed(2)
	}
	return out
}

func TestEquityExampleA(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id := e.fundedA(termsA)
	path := "/applications/" + strconv.FormatInt(id, 10)
	ent := e.loggedIn(applications.RoleEnterprise)
	ent.get(path + "/equity")
	round := url.Values{"kind": {"financing"}, "event_date": {"2026-01-15"}, "investors": {"某创投基金"},
		"new_money": {"20000000"}, "pre_money_valuation": {"80000000"}, "pre_money_units": {"1000000"}, "unit": {"registered_capital"}}
	t.Run("EventOutsideWindowRefused", func(t *testing.T) {
		bad := url.Values{}
		for k, v := range round {
			bad[k] = v
		}
		bad.Set("event_date", "2023-12-31")
		if r := ent.post(path+"/events", bad); r.StatusCode != 422 || !strings.Contains(r.body, "转股期限") {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	staffC := e.loggedIn(applications.RoleStaff)
	t.Run("ConvertingWithoutVerifiedEventRefused", func(t *testing.T) {
		staffC.get(path + "/equity")
		if r := staffC.post(path+"/conversion", url.Values{"idempotency_key": {key()}}); r.StatusCode != 409 {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	if r := ent.post(path+"/events", round); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("report %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	events, _ := e.db.ListEvents(ctx, id)
	staffC.get(path + "/equity")
	if r := staffC.post("/events/"+strconv.FormatInt(events[0].ID, 10)+"/verify", url.Values{"decision": {"verify"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("verify %d", r.StatusCode)
	}
	d := staffC.get(path + "/equity").doc(t)
	t.Run("PreviewMatchesExampleA", func(t *testing.T) {
		want := map[string]string{"#conv-reference": "80.000000", "#conv-price": "80.000000", "#conv-units": "37500.00",
			"#conv-reserve": "2,962,500.00", "#conv-post": "1287500.00", "#conv-stake": "2.912621%"}
		for sel, v := range want {
			if !strings.Contains(d.Find(sel).Text(), v) {
				t.Errorf("%s = %q, want %s", sel, d.Find(sel).Text(), v)
			}
		}
	})
	form := url.Values{"idempotency_key": {key()}}
	if r := staffC.post(path+"/conversion", form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("prepare %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	t.Run("DoubleSubmitStoresOnce", func(t *testing.T) {
		staffC.post(path+"/conversion", form)
		cs, _ := e.db.ListConversions(ctx, id)
		if len(cs) != 1 {
			t.Fatalf("%d conversions", len(cs))
		}
	})
	cs, _ := e.db.ListConversions(ctx, id)
	conv := cs[0]
	t.Run("MakerCannotApproveOwnConversion", func(t *testing.T) {
		err := e.db.ApproveConversion(ctx, audit.Actor{ID: e.users[applications.RoleStaff].ID}, conv.ID)
		if applications.ErrorKind(err) != applications.Forbidden {
			t.Fatalf("err %v", err)
		}
	})
	appr := e.loggedIn(applications.RoleApprover)
	t.Run("ConversionConfirmationInCapitals", func(t *testing.T) {
		text := appr.get(path + "/equity").doc(t).Find(`form.approve-confirm [data-confirm-text]`).Text()
		want := "您将批准转股，转股金额 人民币" + format.Uppercase(conv.Principal) + "（¥" + applications.FormatAmount(conv.Principal) + "）"
		if !strings.Contains(text, want) || !strings.Contains(text, "元") {
			t.Fatalf("confirmation %q, want %q", text, want)
		}
	})
	t.Run("ConversionWithoutConfirmationRefused", func(t *testing.T) {
		r := appr.post("/conversions/"+strconv.FormatInt(conv.ID, 10)+"/approve", nil)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.doc(t).Find(`[role=alert]`).Text(), "勾选") {
			t.Fatalf("status %d %q", r.StatusCode, r.doc(t).Find(`[role=alert]`).Text())
		}
		c, _ := e.db.FindConversion(ctx, conv.ID)
		var entries int
		_ = e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE kind = 'conversion'`).Scan(&entries)
		if c.Status != applications.ConversionPending || entries != 0 {
			t.Fatalf("unconfirmed approval wrote: %s, %d entries", c.Status, entries)
		}
	})
	appr.get(path + "/equity")
	if r := appr.post("/conversions/"+strconv.FormatInt(conv.ID, 10)+"/approve", withConfirm(nil)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve %d %s", r.StatusCode, r.body)
	}
	if flash := appr.get(path + "/equity").doc(t).Find(`.flash`).Text(); !strings.Contains(flash, "转股已批准") || !strings.Contains(flash, "经办人登记工商变更日期") {
		t.Fatalf("after the approval: %q", flash)
	}
	t.Run("CertificateRecomputesExactly", func(t *testing.T) {
		c, _ := e.db.FindConversion(ctx, conv.ID)
		out, err := conversion.Calculate([]byte(c.RequestText))
		if err != nil || string(out) != c.ResultText {
			t.Fatalf("recomputed %s\nstored     %s\n%v", out, c.ResultText, err)
		}
		if postgres.Digest(c.RequestText, c.ResultText) != c.Digest {
			t.Fatal("digest mismatch")
		}
		cert := ent.get("/conversions/" + strconv.FormatInt(conv.ID, 10) + "/certificate").doc(t)
		if !strings.Contains(cert.Find("#certificate").Text(), "叁佰万元整") || cert.Find("#certificate-digest").Text() != c.Digest {
			t.Fatal("certificate lacks 大写 amount or digest")
		}
	})
	if a, _ := e.db.FindApplication(ctx, id); a.State != applications.StateConverted {
		t.Fatalf("state %s", a.State)
	}
	t.Run("RegistrationDateAndDocument", func(t *testing.T) {
		staffC.get(path + "/equity")
		r := staffC.postMultipart("/conversions/"+strconv.FormatInt(conv.ID, 10)+"/registration",
			url.Values{"registration_date": {"2026-02-10"}}, "evidence", "变更登记通知书.pdf", pdf)
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		c, _ := e.db.FindConversion(ctx, conv.ID)
		if c.RegistrationDate.Format(time.DateOnly) != "2026-02-10" || c.RegistrationDoc == 0 {
			t.Fatalf("registration %v doc %d", c.RegistrationDate, c.RegistrationDoc)
		}
	})
	staffC.get(path + "/equity")
	t.Run("ExitBeforeConversionDateRefused", func(t *testing.T) {
		r := staffC.post(path+"/exits", url.Values{"idempotency_key": {key()}, "date": {"2026-01-14"}, "units": {"12500.00"}, "buyer_kind": {"founders"}})
		if r.StatusCode != 422 {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	// The exits of example A happen in 2027–2029: move the clock.
	e.clock.t = time.Date(2029, 2, 1, 2, 0, 0, 0, time.UTC)
	staffC, appr = e.loggedIn(applications.RoleStaff), e.loggedIn(applications.RoleApprover)
	staffC.get(path + "/equity")
	t.Run("ExitOfMoreUnitsThanHeldRefused", func(t *testing.T) {
		r := staffC.post(path+"/exits", url.Values{"idempotency_key": {key()}, "date": {"2027-01-15"}, "units": {"37500.01"}, "buyer_kind": {"founders"}})
		if r.StatusCode != 422 {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	tranches := []url.Values{
		// The market values typed as finance staff type them (290万, grouped).
		{"date": {"2027-01-15"}, "units": {"12500.00"}, "market_value": {"290万"}, "buyer_kind": {"new_investor"}},
		{"date": {"2028-01-15"}, "units": {"12500.00"}, "buyer_kind": {"founders"}},
		{"date": {"2029-01-15"}, "rest": {"1"}, "market_value": {"900,000.00"}, "buyer_kind": {"founders"}},
	}
	for i, f := range tranches {
		f.Set("idempotency_key", key())
		if r := staffC.post(path+"/exits", f); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("exit %d: %d %s", i+1, r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		xs, _ := e.db.ListExits(ctx, id)
		if r := appr.post("/exits/"+strconv.FormatInt(xs[len(xs)-1].ID, 10)+"/approve", withConfirm(nil)); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("approve exit %d: %d", i+1, r.StatusCode)
		}
	}
	t.Run("ExitedWithTotalsOfExampleA", func(t *testing.T) {
		a, _ := e.db.FindApplication(ctx, id)
		if a.State != applications.StateExited {
			t.Fatalf("state %s", a.State)
		}
		d := staffC.get(path + "/equity").doc(t)
		want := map[string]string{"#total-proceeds": "3,095,123.29", "#total-concession": "1,809,917.81", "#total-gain": "95,123.29",
			"#moic": "1.031708", "#xirr": "0.911826%"}
		for sel, v := range want {
			if !strings.Contains(d.Find(sel).Text(), v) {
				t.Errorf("%s = %q, want %s", sel, d.Find(sel).Text(), v)
			}
		}
		proceeds := d.Find("#exit-table .proceeds").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
		if strings.Join(proceeds, "|") != "1,090,082.19|1,105,041.10|900,000.00" {
			t.Errorf("tranche proceeds %v", proceeds)
		}
		plan := d.Find("#exit-plan tbody tr").Map(func(_ int, s *goquery.Selection) string {
			return s.Find("td:nth-child(2)").Text() + " " + s.Find("td:nth-child(3)").Text()
		})
		if strings.Join(plan, "|") != "33.33% 12,498.75|33.33% 12,498.75|剩余全部 12,502.50" {
			t.Errorf("exit plan shares and units %v", plan)
		}
	})
	t.Run("LedgerClosesOut", func(t *testing.T) {
		net := e.netByCode(id)
		// Each exit posts its own gain (Cr 6111) or loss (Dr 6711), as DOMAIN
		// §11 says: tranches 1 and 2 gain 90,082.19 + 105,041.10, tranche 3
		// loses 100,000.00; together the total gain of example A.
		if net["1221"] != "0.00" || net["1511"] != "0.00" || net["6111"] != "-195123.29" || net["6711"] != "100000.00" {
			t.Fatalf("balances %v", net)
		}
		if v, err := e.db.VerifyLedger(ctx); err != nil || !v.OK {
			t.Fatalf("ledger verify: %+v %v", v, err)
		}
	})
	t.Run("AuditorExports", func(t *testing.T) { checkAuditorExports(t, e, id) })
}

func TestLapseToGrant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id := e.fundedA(termsA)
	e.clock.t = time.Date(2029, 1, 11, 2, 0, 0, 0, time.UTC) // the day after the window (signed 2024-01-10 + 5 years)
	staffC := e.loggedIn(applications.RoleStaff)
	path := "/applications/" + strconv.FormatInt(id, 10)
	staffC.get(path + "/equity") // evaluation on access
	a, _ := e.db.FindApplication(ctx, id)
	if a.State != applications.StateLapsed {
		t.Fatalf("state %s", a.State)
	}
	t.Run("ExtensionNeedsApproval", func(t *testing.T) {
		if r := staffC.post(path+"/endings", url.Values{"idempotency_key": {key()}, "kind": {"extend"}, "window_years": {"7"},
			"reason": {"企业融资谈判中"}, "value_date": {"2029-01-11"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("prepare %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		if a, _ := e.db.FindApplication(ctx, id); a.State != applications.StateLapsed {
			t.Fatal("an unapproved extension changed the state")
		}
		ends, _ := e.db.ListEndings(ctx, id)
		// reject it by approving nothing: the maker cannot approve it
		if err := e.db.ApproveEnding(ctx, audit.Actor{ID: e.users[applications.RoleStaff].ID}, ends[0].ID); applications.ErrorKind(err) != applications.Forbidden {
			t.Fatalf("maker approved own extension: %v", err)
		}
		_, _ = e.db.Pool.Exec(ctx, `UPDATE endings SET status = 'rejected' WHERE id = $1`, ends[0].ID)
	})
	t.Run("WriteOffWithoutReasonRefused", func(t *testing.T) {
		if r := staffC.post(path+"/endings", url.Values{"idempotency_key": {key()}, "kind": {"grant"}, "value_date": {"2029-01-11"}}); r.StatusCode != 422 {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	// DOMAIN §16: a lapse closes as a grant only after a passed acceptance.
	staffC.mustAccept(id, applications.AcceptancePassed, "2029-01-11")
	if r := staffC.post(path+"/endings", url.Values{"idempotency_key": {key()}, "kind": {"grant"}, "reason": {"按协议转为无偿资助"},
		"value_date": {"2029-01-11"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("prepare grant %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	ends, _ := e.db.ListEndings(ctx, id)
	appr := e.loggedIn(applications.RoleApprover)
	appr.get(path + "/equity")
	if r := appr.post("/endings/"+strconv.FormatInt(ends[0].ID, 10)+"/approve", withConfirm(nil)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve %d", r.StatusCode)
	}
	a, _ = e.db.FindApplication(ctx, id)
	net := e.netByCode(id)
	if a.State != applications.StateClosedGrant || net["1221"] != "0.00" {
		t.Fatalf("state %s balances %v", a.State, net)
	}
	var grant decimal.Decimal
	_ = e.db.Pool.QueryRow(ctx, `SELECT COALESCE(sum(amount), 0) FROM ledger_postings WHERE account_code = '6401' AND side = 'debit'`).Scan(&grant)
	if grant.StringFixed(2) != "3000000.00" {
		t.Fatalf("grant expense %s", grant)
	}
}

// TestProposalsCanBeSentBack: an approver can reject a conversion (the
// project is not blocked) and an exit cannot be approved once the project
// was written off.
func TestProposalsCanBeSentBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id := e.fundedA(termsA)
	who := e.people()
	cid := e.preparedConversion(id)
	appr := e.loggedIn(applications.RoleApprover)
	appr.get("/applications/" + strconv.FormatInt(id, 10) + "/equity")
	if r := appr.post("/proposals/conversion/"+strconv.FormatInt(cid, 10)+"/reject", url.Values{"reason": {"估值依据不足"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reject %d %s", r.StatusCode, r.body)
	}
	if _, err := e.db.PrepareConversion(ctx, who.Staff, id, "", key()); err != nil {
		t.Fatalf("a rejected conversion still blocks: %v", err)
	}
	cs, _ := e.db.ListConversions(ctx, id)
	if err := e.db.ApproveConversion(ctx, who.Approver, cs[0].ID); err != nil {
		t.Fatal(err)
	}
	e.clock.t = time.Date(2027, 2, 1, 2, 0, 0, 0, time.UTC)
	xid, err := e.db.PrepareExit(ctx, who.Staff, id, postgres.ExitInput{Date: time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC),
		Units: "12500.00", BuyerKind: "founders"}, key())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("WriteOffRefusedWhileExitPending", func(t *testing.T) {
		_, err := e.db.PrepareEnding(ctx, who.Staff, id, postgres.EndingInput{Kind: postgres.EndingWriteOff, Reason: "失败",
			ValueDate: time.Date(2027, 1, 20, 0, 0, 0, 0, time.UTC)}, key(), &applications.Document{})
		if applications.ErrorKind(err) != applications.Conflict || !strings.Contains(applications.ErrorMessage(err), "退出") {
			t.Fatalf("err %v", err)
		}
	})
	// Even if a write-off got through by another path, the exit must not post.
	if _, err := e.db.Pool.Exec(ctx, `UPDATE applications SET state = 'written_off' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if err := e.db.ApproveExit(ctx, who.Approver, xid); applications.ErrorKind(err) != applications.Conflict {
		t.Fatalf("exit approved on a written-off project: %v", err)
	}
}

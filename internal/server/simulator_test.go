package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"ite/internal/applications"
	"ite/web/page"
)

// simExampleA is DOMAIN §15 example A as the simulator's query string.
const simExampleA = "unit=registered_capital&pre_units=1000000&conv_date=2026-01-15" +
	"&d1_date=2024-01-15&d1_amount=1500000.00&d2_date=2025-01-15&d2_amount=1500000.00" +
	"&valuation=80000000&new_money=20000000&method=round_price" +
	"&return_rate=0.03&accrual=disbursement&allocation=fifo&below_cap=market" +
	"&t1_date=2027-01-15&t1_mode=units&t1_qty=12500.00&t1_mv=2900000.00" +
	"&t2_date=2028-01-15&t2_mode=units&t2_qty=12500.00" +
	"&t3_date=2029-01-15&t3_mode=rest&t3_mv=900000.00"

// simWith is example A with some parameters replaced (an empty value
// clears one).
func simWith(kv ...string) string {
	q, _ := url.ParseQuery(simExampleA)
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q.Encode()
}

// getHX fetches a path the way htmx does.
func (c *client) getHX(path string) response {
	req, _ := http.NewRequest("GET", c.e.http.URL+path, nil)
	req.Header.Set("HX-Request", "true")
	return c.do(req)
}

func text(d *goquery.Document, css string) string {
	return strings.TrimSpace(d.Find(css).First().Text())
}

// assertExampleA checks the figures of example A on a page or fragment.
func assertExampleA(t *testing.T, d *goquery.Document) {
	t.Helper()
	want := map[string]string{
		"#sim-price":           "80.000000",
		"#sim-ref-price":       "80.000000",
		"#sim-units":           "37,500.00",
		"#sim-basis":           "融资轮价格",
		"#sim-reserve":         "2,962,500.00 元（296.25 万元）",
		"#sim-amount":          "3,000,000.00 元（300.00 万元）",
		"#sim-round-units":     "250,000.00",
		"#sim-post-units":      "1,287,500.00",
		"#sim-stake":           "2.912621%（0.02912621）",
		"#sim-stake-existing":  "77.669903%（0.77669903）",
		"#sim-stake-round":     "19.417476%（0.19417476）",
		"#sim-proceeds":        "3,095,123.29 元（309.51 万元）",
		"#sim-exit-interest":   "315,205.48 元（31.52 万元）",
		"#sim-concession":      "1,809,917.81 元（180.99 万元）",
		"#sim-gain":            "95,123.29 元（9.51 万元）",
		"#sim-moic":            "1.031708",
		"#sim-xirr":            "0.911826%（0.00911826）",
		"#sim-units-remaining": "0.00",
	}
	for css, w := range want {
		if got := text(d, css); got != w {
			t.Errorf("%s = %q, want %q", css, got, w)
		}
	}
	if n := d.Find("#sim-exit thead th.num").Length(); n != 3 {
		t.Errorf("%d exit tranches shown, want 3", n)
	}
	for css, w := range map[string]string{
		"#sim-t1-interest": "90,082.19", "#sim-t2-interest": "105,041.10", "#sim-t3-interest": "120,082.19",
		"#sim-t1-proceeds": "1,090,082.19", "#sim-t2-proceeds": "1,105,041.10", "#sim-t3-proceeds": "900,000.00",
		"#sim-t1-concession": "1,809,917.81", "#sim-t2-mv": "未知", "#sim-t3-gain": "-100,000.00", "#sim-t3-units": "12,500.00",
	} {
		if got := text(d, css); !strings.HasPrefix(got, w) {
			t.Errorf("%s = %q, want %q", css, got, w)
		}
	}
	if d.Find("#sim-steps li").Length() < 5 || !hasHan(text(d, "#sim-steps li")) || d.Find("#sim-exit-steps li").Length() == 0 {
		t.Error("the calculation steps are missing or not in Chinese")
	}
	if d.Find("#sim-error").Length() != 0 {
		t.Errorf("unexpected error %q", text(d, "#sim-error"))
	}
}

func TestSimulatorPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	staff := e.loggedIn(applications.RoleStaff)

	t.Run("ExampleAQueryShowsExactFigures", func(t *testing.T) {
		r := staff.get("/simulator?" + simExampleA)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.StatusCode)
		}
		d := r.doc(t)
		assertExampleA(t, d)
		form := d.Find("form#sim-form")
		for attr, want := range map[string]string{
			"method": "get", "action": "/simulator", "hx-get": "/simulator/result",
			"hx-trigger": "change delay:300ms, submit", "hx-target": "#sim-result",
		} {
			if got, _ := form.Attr(attr); got != want {
				t.Errorf("form %s = %q, want %q", attr, got, want)
			}
		}
		if v, _ := d.Find("#f-t3_mode option[selected]").Attr("value"); v != "rest" {
			t.Errorf("tranche 3 mode %q", v)
		}
	})
	t.Run("NoQueryPrefillsExampleA", func(t *testing.T) {
		r := staff.get("/simulator")
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.StatusCode)
		}
		d := r.doc(t)
		assertExampleA(t, d)
		for id, want := range map[string]string{"#f-pre_units": "1000000", "#f-valuation": "80000000", "#f-d2_date": "2025-01-15", "#f-t1_mv": "2900000.00"} {
			if v, _ := d.Find(id).Attr("value"); v != want {
				t.Errorf("%s = %q, want %q", id, v, want)
			}
		}
	})
	t.Run("AmountsAsFinanceStaffTypeThem", func(t *testing.T) {
		d := staff.get("/simulator?" + simWith("d1_amount", "150万", "d2_amount", "1,500,000.00",
			"valuation", "８０,０００,０００", "t1_mv", "290万元")).doc(t)
		assertExampleA(t, d)
		for id, want := range map[string]string{"#f-d1_amount": "1500000.00", "#f-valuation": "80000000.00", "#f-t1_mv": "2900000.00"} {
			if v, _ := d.Find(id).Attr("value"); v != want {
				t.Errorf("%s shown back as %q, want %q", id, v, want)
			}
		}
	})
	t.Run("ShareLinkReopensTheScenario", func(t *testing.T) {
		href, ok := staff.get("/simulator").doc(t).Find("#sim-link").Attr("href")
		if !ok || !strings.HasPrefix(href, "/simulator?") {
			t.Fatalf("link %q", href)
		}
		assertExampleA(t, staff.get(href).doc(t))
	})
	t.Run("FragmentIsJustTheResult", func(t *testing.T) {
		r := staff.getHX("/simulator/result?" + simExampleA)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.StatusCode)
		}
		d := r.doc(t)
		if d.Find("form, header, footer, title, meta").Length() != 0 {
			t.Fatalf("fragment contains page parts: %.300s", r.body)
		}
		if d.Find("body > section#sim-result").Length() != 1 {
			t.Fatal("fragment lacks the result section at its top")
		}
		assertExampleA(t, d)
		// the address pushed spells the amounts the one way the page shows them
		normalised := strings.NewReplacer("valuation=80000000&", "valuation=80000000.00&", "new_money=20000000&", "new_money=20000000.00&").Replace(simExampleA)
		if got := r.Header.Get("HX-Push-Url"); got != "/simulator?"+normalised {
			t.Errorf("HX-Push-Url %q", got)
		}
		// every error slot comes along, empty, to clear old messages
		if n := d.Find(`[hx-swap-oob="true"].sim-error`).Length(); n != len(page.SimulatorFieldNames()) {
			t.Errorf("%d out-of-band error slots, want %d", n, len(page.SimulatorFieldNames()))
		}
		if strings.TrimSpace(d.Find(".sim-error").Text()) != "" {
			t.Error("an error slot is not empty")
		}
	})
	t.Run("ConversionOnlyWithoutTranches", func(t *testing.T) {
		d := staff.get("/simulator?" + simWith("t1_date", "", "t1_qty", "", "t1_mv", "", "t2_date", "", "t2_qty", "",
			"t3_date", "", "t3_mode", "units", "t3_mv", "")).doc(t)
		if text(d, "#sim-units") != "37,500.00" || d.Find("#sim-exit").Length() != 0 || d.Find("#sim-no-exit").Length() != 1 {
			t.Fatal("conversion without exit not shown as such")
		}
	})
	t.Run("ExampleCSharesStakeCeiling", func(t *testing.T) {
		q := "unit=shares&pre_units=3000000&conv_date=2026-09-30&d1_date=2025-03-01&d1_amount=2000000.00" +
			"&method=appraisal&appraised=15000000&discount=0.10&max_stake=0.10&interest=0.031"
		r := staff.get("/simulator?" + q)
		d := r.doc(t)
		if r.StatusCode != 200 || text(d, "#sim-units") != "333,333" || text(d, "#sim-price") != "6.294549" ||
			text(d, "#sim-basis") != "持股比例上限" || text(d, "#sim-interest") != "98,180.82 元（9.82 万元）" {
			t.Fatalf("example C: %d units %q price %q basis %q interest %q", r.StatusCode,
				text(d, "#sim-units"), text(d, "#sim-price"), text(d, "#sim-basis"), text(d, "#sim-interest"))
		}
	})

	bad := []struct {
		name, query, slot, want string
	}{
		{"BadDiscount", simWith("discount", "1.5"), "discount", "折扣"},
		{"DiscountOnFixedPrice", simWith("method", "fixed_price", "price", "60", "discount", "0.2"), "discount", "请删除"},
		{"DisbursementRowAfterBlankRow", simWith("d1_date", "", "d1_amount", "", "d3_date", "2026-03-01", "d3_amount", "100"), "d3_date", "晚于转股日期"},
		{"TrancheSellsTooMuch", simWith("t2_qty", "30000.00"), "t2_qty", "超过尚持有"},
		{"TrancheWithoutQuantity", simWith("t2_qty", ""), "t2_qty", "请填写第 2 笔退出的数量"},
		{"TranchesOutOfOrder", simWith("t2_date", "2026-06-01"), "t2_date", "早于上一笔"},
		{"RoundWithoutValuation", simWith("valuation", ""), "valuation", "投前估值"},
	}
	for _, tc := range bad {
		t.Run(tc.name+"PageIs422WithChineseError", func(t *testing.T) {
			r := staff.get("/simulator?" + tc.query)
			if r.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d", r.StatusCode)
			}
			d := r.doc(t)
			msg := text(d, "#err-"+tc.slot)
			if !hasHan(msg) || !strings.Contains(msg, tc.want) {
				t.Fatalf("error next to %s: %q, want it to mention %q (alert: %q)", tc.slot, msg, tc.want, text(d, "#sim-error"))
			}
			if d.Find("#sim-error").Length() != 1 || d.Find("#sim-price").Length() != 0 {
				t.Fatal("refused scenario shows results or no alert")
			}
			if d.Find("#sim-form").Length() != 1 {
				t.Fatal("the form is not shown again")
			}
		})
		t.Run(tc.name+"FragmentSwapsErrorNextToField", func(t *testing.T) {
			r := staff.getHX("/simulator/result?" + tc.query)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d (htmx swaps only 2xx by default)", r.StatusCode)
			}
			d := r.doc(t)
			msg := text(d, `[hx-swap-oob="true"]#err-`+tc.slot)
			if !hasHan(msg) || !strings.Contains(msg, tc.want) {
				t.Fatalf("out-of-band error for %s: %q", tc.slot, msg)
			}
			if !strings.Contains(text(d, "#sim-result #sim-error"), msg) {
				t.Fatalf("result area does not repeat the error: %q", text(d, "#sim-result"))
			}
		})
	}

	t.Run("AccessByRole", func(t *testing.T) {
		for role, want := range map[applications.Role]int{
			applications.RoleEnterprise: 200, applications.RoleApprover: 200, applications.RoleAuditor: 200,
			applications.RoleExpert: 403, applications.RoleAdmin: 403,
		} {
			c := e.loggedIn(role)
			if r := c.get("/simulator"); r.StatusCode != want {
				t.Errorf("%s: status %d, want %d", role, r.StatusCode, want)
			}
			inNav := c.get("/").doc(t).Find(`.mainnav a[href="/simulator"]`).Length() == 1
			if inNav != (want == 200) {
				t.Errorf("%s: simulator in the menu = %v", role, inNav)
			}
		}
		if r := e.client().getHX("/simulator/result"); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("anonymous fragment: status %d", r.StatusCode)
		}
	})
}

// simExampleE is DOMAIN §15 example E in the simulator: LPR1Y from the rate
// table plus 0.5%, 0% within 2 years, appraisal after 4 years, a listing.
var simExampleE = simWith("basis", "reference", "series", "LPR1Y", "spread", "0.005", "tiers", "2:0", "appraisal_years", "4",
	"return_rate", "", "t1_date", "2027-06-30", "t1_mv", "2000000.00",
	"t2_date", "2029-01-15", "t2_buyer", "third_party", "t2_mv", "1600000.00",
	"t3_date", "2030-03-31", "t3_mv", "", "t3_av", "1300000.00")

// TestSimulatorExampleE: the new policy inputs, as a plain form and with
// htmx, the rate table's series or typed rates, each price in words.
func TestSimulatorExampleE(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.loggedIn(applications.RoleStaff)
	check := func(t *testing.T, d *goquery.Document, series string) {
		t.Helper()
		for css, w := range map[string]string{
			"#sim-proceeds": "3,900,000.00 元（390.00 万元）", "#sim-exit-interest": "339,931.51 元（33.99 万元）",
			"#sim-concession": "1,000,000.00 元（100.00 万元）", "#sim-gain": "900,000.00 元（90.00 万元）",
			"#sim-moic": "1.300000", "#sim-xirr": "6.025647%（0.06025647）",
			"#sim-t2-interest": "157,643.84", "#sim-t3-interest": "182,287.67", "#sim-t3-proceeds": "1,300,000.00",
			"#sim-t1-rate": "0.000000", "#sim-t2-rate": "0.035000", "#sim-t2-rate_basis": "参考利率", "#sim-t1-rate_basis": "阶梯",
		} {
			if got := text(d, css); !strings.HasPrefix(got, w) {
				t.Errorf("%s = %q, want %q", css, got, w)
			}
		}
		for css, w := range map[string][]string{
			"#sim-t1-explain": {"持股满 2 年内按本金回购"},
			"#sim-t2-explain": {"按 2025年5月20日 " + series + " 3.00% 加 0.50% 计息", "第三方通过产权交易所挂牌受让，按成交价"},
			"#sim-t3-explain": {"按 2025年5月20日 " + series + " 3.00% 加 0.50% 计息", "评估值高于回购价，按评估值"},
		} {
			for _, s := range w {
				if !strings.Contains(text(d, css), s) {
					t.Errorf("%s = %q, lacks %q", css, text(d, css), s)
				}
			}
		}
	}
	t.Run("PlainForm", func(t *testing.T) {
		r := c.get("/simulator?" + simExampleE)
		if r.StatusCode != 200 {
			t.Fatalf("status %d: %s", r.StatusCode, text(r.doc(t), "#sim-error"))
		}
		d := r.doc(t)
		check(t, d, "一年期 LPR")
		if v, _ := d.Find("#f-series option[selected]").Attr("value"); v != "LPR1Y" {
			t.Errorf("series not kept: %q", v)
		}
		if v, _ := d.Find("#f-t2_buyer option[selected]").Attr("value"); v != "third_party" {
			t.Errorf("buyer not kept: %q", v)
		}
	})
	t.Run("Htmx", func(t *testing.T) {
		r := c.getHX("/simulator/result?" + simExampleE)
		if r.StatusCode != 200 || !strings.Contains(r.Header.Get("HX-Push-Url"), "t2_buyer=third_party") {
			t.Fatalf("status %d push %q", r.StatusCode, r.Header.Get("HX-Push-Url"))
		}
		check(t, r.doc(t), "一年期 LPR")
	})
	t.Run("TypedRates", func(t *testing.T) {
		q, _ := url.ParseQuery(simExampleE)
		q.Del("series")
		q.Set("rates", "2024-07-22 0.0335, 2024-10-21 0.0310, 2025-05-20 0.0300")
		check(t, c.get("/simulator?"+q.Encode()).doc(t), "参考利率")
	})
	t.Run("AppraisalMissingShownBesideIt", func(t *testing.T) {
		q, _ := url.ParseQuery(simExampleE)
		q.Del("t3_av")
		r := c.get("/simulator?" + q.Encode())
		if r.StatusCode != 422 || text(r.doc(t), "#err-t3_av") == "" {
			t.Fatalf("status %d, err %q", r.StatusCode, text(r.doc(t), "#sim-error"))
		}
	})
	t.Run("BadTiersShownBesideThem", func(t *testing.T) {
		q, _ := url.ParseQuery(simExampleE)
		q.Set("tiers", "两年")
		r := c.get("/simulator?" + q.Encode())
		if r.StatusCode != 422 || !strings.Contains(text(r.doc(t), "#err-tiers"), "阶梯利率") {
			t.Fatalf("status %d, err %q", r.StatusCode, text(r.doc(t), "#err-tiers"))
		}
	})
}

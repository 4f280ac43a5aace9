package server

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/go-chi/chi/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/postgres"
)

// TestPermissionRouteActions: every route performs one declared action of
// applications' permission table (its access is read from it, so the
// route's roles are the action's), and every action has a route.
func TestPermissionRouteActions(t *testing.T) {
	t.Parallel()
	s := New(Config{}) // the route table only; no request is served
	used := map[applications.Action]bool{}
	for _, rt := range s.routes() {
		a := rt.access.action
		if !slices.Contains(applications.Actions(), a) {
			t.Errorf("%s %s: action %q is not declared in applications' permission table", rt.method, rt.pattern, a)
			continue
		}
		used[a] = true
	}
	for _, a := range applications.Actions() {
		if !used[a] {
			t.Errorf("action %s has no route", a)
		}
	}
}

// knownMismatches are pages that offer a form or link whose route refuses
// the role looking at it: "role METHOD pattern-of-page -> METHOD
// pattern-of-target", with the reason. It is empty, and should stay so: a
// page offers what the permission table allows (Role.Can), so an entry here
// is a deliberate, dated exception with its to-do, never a way to make the
// test pass. A stale entry fails the test.
var knownMismatches = map[string]string{}

// notReached are routes a role may GET that the fixture does not reach,
// with the reason.
var notReached = map[string]string{
	"auditor GET /inbox/{id}": "nothing in the fixture notifies the auditor",
	"admin GET /inbox/{id}":   "nothing in the fixture notifies the admin",

	"security_admin GET /inbox/{id}": "nothing in the fixture notifies the security admin",

	"enterprise GET /applications/{id}/print/exit":      "the fixture has no approved exit (e2e TestJourneyDocuments prints the demo's)",
	"enterprise GET /applications/{id}/print/write-off": "the fixture has no approved write-off (e2e TestJourneyDocuments prints the demo's)",
	"staff GET /applications/{id}/print/exit":           "the fixture has no approved exit (e2e TestJourneyDocuments prints the demo's)",
	"staff GET /applications/{id}/print/write-off":      "the fixture has no approved write-off (e2e TestJourneyDocuments prints the demo's)",
	"approver GET /applications/{id}/print/exit":        "the fixture has no approved exit (e2e TestJourneyDocuments prints the demo's)",
	"approver GET /applications/{id}/print/write-off":   "the fixture has no approved write-off (e2e TestJourneyDocuments prints the demo's)",
	"auditor GET /applications/{id}/print/exit":         "the fixture has no approved exit (e2e TestJourneyDocuments prints the demo's)",
	"auditor GET /applications/{id}/print/write-off":    "the fixture has no approved write-off (e2e TestJourneyDocuments prints the demo's)",
	"trustee GET /applications/{id}/print/exit":         "the fixture has no approved exit (TestTrusteeAccess approves one)",
	"trustee GET /applications/{id}/print/write-off":    "the fixture has no approved write-off",
	"trustee GET /documents/{id}":                       "the fixture's converted project has no uploaded file (TestTrusteeAccess downloads and is refused them)",
}

// permFixture is a lifecycle of applications in one programme, with a
// pending record of each maker–checker kind, so that every page shows the
// buttons its states allow.
type permFixture struct {
	apps  map[string]int64    // by state name
	paths map[string][]string // concrete paths by route pattern
}

func newPermFixture(e *env) permFixture {
	t := e.t
	t.Helper()
	ctx := context.Background()
	m := &moneyEnv{env: e, prog: e.openProgramme()}
	p := m.prog
	staffA, apprA := m.actor(staff), m.actor(approver)
	fx := permFixture{apps: map[string]int64{}, paths: map[string][]string{}}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("fixture %s: %v", what, err)
		}
	}

	ent := e.loggedIn(enterprise)
	fx.apps["draft"] = ent.createApplication(p.ID, "1000000.00")
	sub := ent.createApplication(p.ID, "1100000.00")
	e.uploadAll(ent, sub)
	_, err := e.db.TransitionApplication(ctx, sys, sub, applications.StateSubmitted, "", nil)
	must("submit", err)
	fx.apps["submitted"] = sub

	// Under review, with a panel that includes the env's own expert.
	rev := e.underReview(p, "1200000.00")
	must("expert profile", e.db.SaveExpertProfile(ctx, sys, e.users[expert].ID, postgres.ExpertProfile{Employer: "内蒙古工业大学",
		Sectors: []applications.Sector{applications.SectorNewEnergyMaterials}, Active: true}))
	e.experts(4, applications.SectorNewEnergyMaterials, "perm")
	_, err = e.db.DrawPanel(ctx, staffA, rev, 7)
	must("panel", err)
	fx.apps["under_review"] = rev
	expC := e.loggedIn(expert)
	expC.get("/reviews/" + itoa(rev))
	if r := expC.post("/reviews/"+itoa(rev)+"/declare", url.Values{"decision": {"none"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("fixture declaration: %d", r.StatusCode)
	}

	decide := func(amount string) (int64, int64) {
		id := e.reviewed(p, amount)
		did, err := e.db.PrepareDecision(ctx, staffA, id, applications.DecisionInput{Approve: true,
			Amount: decimal.RequireFromString(amount), Terms: []byte(p.TermsTemplate)})
		must("decision", err)
		return id, did
	}
	fx.apps["pending_decision"], _ = decide("1300000.00")
	approved, did := decide("1400000.00")
	must("approve decision", e.db.ApproveDecision(ctx, apprA, did))
	fx.apps["approved"] = approved
	// Its notice runs with a proposal to uphold an objection, for the
	// approver's approve and send-back forms.
	noticed, err := e.db.FindApplication(ctx, approved)
	must("find approved", err)
	must("objection", e.db.RecordObjection(ctx, staffA, approved, noticed.NoticeStartsOn, "申报材料中的专利已转让"))
	objs, err := e.db.ListObjections(ctx, approved)
	must("objections", err)
	must("propose uphold", e.db.ResolveObjection(ctx, staffA, objs[0].ID, true, "经核实属实"))

	// Money: a funded fund, a pending appropriation, a contracted project
	// with a pending disbursement, a funded one with a pending reversal.
	appr, err := e.db.RecordAppropriation(ctx, staffA, postgres.AppropriationInput{ProgrammeID: p.ID,
		Amount: decimal.RequireFromString("20000000"), ValueDate: e.clock.Now().AddDate(0, 0, -40), Reference: "内财教〔2026〕1号",
		IdempotencyKey: key()})
	must("appropriation", err)
	_, err = e.db.ApproveAppropriation(ctx, apprA, appr.ID, key())
	must("approve appropriation", err)
	pendingAppr, err := e.db.RecordAppropriation(ctx, staffA, postgres.AppropriationInput{ProgrammeID: p.ID,
		Amount: decimal.RequireFromString("1000000"), ValueDate: e.clock.Now().AddDate(0, 0, -2), Reference: "内财教〔2026〕2号",
		IdempotencyKey: key()})
	must("pending appropriation", err)

	contract := func(title string) int64 {
		id, err := e.db.SyntheticContract(ctx, postgres.SyntheticContractInput{ProgrammeID: p.ID,
			EnterpriseID: e.users[enterprise].EnterpriseID, CreatedBy: e.users[staff].ID, Title: title,
			Approved: decimal.RequireFromString("2000000"), SignedOn: e.clock.Now().AddDate(0, -1, 0)})
		must("contract", err)
		return id
	}
	record := func(app int64, ref string) applications.Disbursement {
		d, err := e.db.RecordDisbursement(ctx, staffA, applications.DisbursementInput{ApplicationID: app, Tranche: 1,
			Amount: decimal.RequireFromString("1000000"), ValueDate: e.clock.Now().AddDate(0, 0, -10), Reference: ref,
			IdempotencyKey: key()})
		must("disbursement", err)
		return d
	}
	contracted := contract("合同待拨付项目")
	pendingDisb := record(contracted, "BOC-P1")
	fx.apps["contracted"] = contracted
	fx.apps["contracted_unpaid"] = contract("合同待登记拨付项目")

	funded := contract("已拨付待冲正项目")
	done, err := e.db.ApproveDisbursement(ctx, apprA, record(funded, "BOC-F1").ID, key())
	must("approve disbursement", err)
	rv, err := e.db.RequestReversal(ctx, staffA, applications.ReversalInput{EntrySeq: done.EntrySeq, Reason: "金额录入错误", IdempotencyKey: key()})
	must("reversal", err)
	fx.apps["funded"] = funded

	// Equity: a project whose conversion awaits the approver, and one
	// converted.
	due := contract("待审批转股项目")
	_, err = e.db.ApproveDisbursement(ctx, apprA, record(due, "BOC-D1").ID, key())
	must("approve disbursement", err)
	// Through the pages: the enterprise reports a round (one verified and
	// prepared, one left for staff to verify).
	staffC := e.loggedIn(staff)
	for _, app := range []int64{due, funded} {
		round := url.Values{"kind": {"financing"}, "event_date": {e.clock.Now().AddDate(0, 0, -3).Format("2006-01-02")},
			"investors": {"某创投基金"}, "new_money": {"20000000"}, "pre_money_valuation": {"80000000"},
			"pre_money_units": {"1000000"}, "unit": {"registered_capital"}}
		ent.get("/applications/" + itoa(app) + "/equity")
		if r := ent.post("/applications/"+itoa(app)+"/events", round); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("fixture event: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
	}
	events, err := e.db.ListEvents(ctx, due)
	must("events", err)
	staffC.get("/applications/" + itoa(due) + "/equity")
	if r := staffC.post("/events/"+itoa(events[0].ID)+"/verify", url.Values{"decision": {"verify"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("fixture verify: %d", r.StatusCode)
	}
	if r := staffC.post("/applications/"+itoa(due)+"/conversion", url.Values{"idempotency_key": {key()}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("fixture conversion: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	fx.apps["conversion_pending"] = due
	converted := e.fundedA(termsA) // example A; its references are fixed, so once per env
	conv := e.preparedConversion(converted)
	must("approve conversion", e.db.ApproveConversion(ctx, apprA, conv))
	fx.apps["converted"] = converted
	// An exit tranche awaiting the approver: its record page and buttons.
	exit, err := e.db.PrepareExit(ctx, staffA, converted, postgres.ExitInput{Date: time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC),
		Units: "12500.00", BuyerKind: applications.BuyerTeam}, key())
	must("prepare exit", err)

	ids := func(pattern string, vs ...int64) {
		for _, v := range vs {
			fx.paths[pattern] = append(fx.paths[pattern], strings.Replace(pattern, "{id}", itoa(v), 1))
		}
	}
	ids("/admin/users/{id}", e.users[staff].ID)
	ids("/programmes/{id}", p.ID)
	ids("/programmes/{id}/agreement-template", p.ID)
	fund := "?account=1002/prog/" + itoa(p.ID)
	fx.paths["/ledger/accounts"] = []string{"/ledger/accounts", "/ledger/accounts" + fund}
	fx.paths["/ledger/accounts/export"] = []string{"/ledger/accounts/export" + fund + "&format=csv"}
	ids("/experts/{id}", e.users[expert].ID)
	ids("/reviews/{id}", rev)
	ids("/exits/{id}", exit)
	ids("/disbursements/{id}", pendingDisb.ID, done.ID)
	ids("/ledger/appropriations/{id}", pendingAppr.ID, appr.ID)
	ids("/ledger/reversals/{id}", rv.ID)
	ids("/ledger/entries/{id}", 1, done.EntrySeq)
	ids("/conversions/{id}/certificate", conv)
	e.srv.AnchorKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	_, _, err = e.srv.WriteAnchor(ctx, sys, "manual")
	must("anchor", err)
	fx.paths["/ledger/anchors/{file}"] = []string{"/ledger/anchors/latest.json"}
	ids("/conversions/{id}/verify", conv)
	return fx
}

// concrete returns the paths to GET for a route pattern: the fixture's,
// every lifecycle application for /applications/{id}/..., the pattern
// itself when it has no parameter, none otherwise (the crawl then finds
// them on the pages).
func (fx permFixture) concrete(pattern string) []string {
	if ps, ok := fx.paths[pattern]; ok {
		return ps
	}
	if strings.HasPrefix(pattern, "/applications/{id}") {
		states := make([]string, 0, len(fx.apps))
		for s := range fx.apps {
			states = append(states, s)
		}
		sort.Strings(states)
		var out []string
		for _, s := range states {
			p := strings.Replace(pattern, "{id}", itoa(fx.apps[s]), 1)
			out = append(out, strings.ReplaceAll(p, "{item}", string(applications.MaterialBusinessLicense)))
		}
		return out
	}
	if strings.ContainsAny(pattern, "{*") {
		return nil
	}
	return []string{pattern}
}

// offer is one thing a page lets the user do: submit a form, follow a
// link, or fire an htmx request.
type offer struct {
	kind   string // "form", "link", "hx-get", "hx-post", "menu"
	method string
	path   string
	desc   string // how it looks on the page, for the failure message
	uri    string // path and query, to follow a link
}

// offers collects every form, internal link and htmx request of a page.
// Menu items (the layout's nav) are returned apart.
func offers(doc *goquery.Document, page *url.URL) (items, menu []offer) {
	resolve := func(ref string) (*url.URL, bool) {
		u, err := page.Parse(ref)
		if err != nil || (u.Host != "" && u.Host != page.Host) || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, false
		}
		return u, true
	}
	doc.Find("form").Each(func(_ int, s *goquery.Selection) {
		method := strings.ToUpper(strings.TrimSpace(s.AttrOr("method", "GET")))
		action := s.AttrOr("action", "")
		u, ok := resolve(action)
		if !ok {
			return
		}
		desc := fmt.Sprintf(`<form method=%q action=%q`, strings.ToLower(method), action)
		if id, ok := s.Attr("id"); ok {
			desc += fmt.Sprintf(" id=%q", id)
		}
		desc += "> " + strings.Join(strings.Fields(s.Find("button, input[type=submit]").First().Text()), " ")
		items = append(items, offer{"form", method, u.Path, desc, u.RequestURI()})
	})
	for _, hx := range []string{"hx-get", "hx-post"} {
		doc.Find("[" + hx + "]").Each(func(_ int, s *goquery.Selection) {
			ref := s.AttrOr(hx, "")
			if u, ok := resolve(ref); ok {
				items = append(items, offer{hx, strings.ToUpper(strings.TrimPrefix(hx, "hx-")), u.Path,
					fmt.Sprintf("<%s %s=%q>", goquery.NodeName(s), hx, ref), u.RequestURI()})
			}
		})
	}
	doc.Find("a[href]").Each(func(_ int, s *goquery.Selection) {
		href := strings.TrimSpace(s.AttrOr("href", ""))
		if href == "" || strings.HasPrefix(href, "#") {
			return // an anchor on the page
		}
		u, ok := resolve(href)
		if !ok || strings.HasPrefix(u.Path, "/static/") {
			return // external, mailto:, javascript: or an asset
		}
		o := offer{"link", "GET", u.Path, fmt.Sprintf("<a href=%q>%s</a>", href, strings.Join(strings.Fields(s.Text()), " ")), u.RequestURI()}
		if s.ParentsFiltered("nav.mainnav").Length() > 0 {
			o.kind = "menu"
			menu = append(menu, o)
			return
		}
		items = append(items, o)
	})
	return items, menu
}

// noTokenInURLs fails when an address on the page (a link, a form's
// action, an htmx request, a source) carries the CSRF token: addresses end
// up in logs, history and Referer headers. The token belongs in a hidden
// field or the X-CSRF-Token header.
func noTokenInURLs(t *testing.T, doc *goquery.Document, token string) {
	t.Helper()
	doc.Find("*").Each(func(_ int, s *goquery.Selection) {
		for _, a := range s.Nodes[0].Attr {
			switch a.Key {
			case "href", "action", "src", "formaction", "hx-get", "hx-post", "hx-put", "hx-delete", "data-url":
				if strings.Contains(a.Val, "csrf") || token != "" && strings.Contains(a.Val, token) {
					t.Errorf("<%s %s=%q>: the CSRF token is in an address", goquery.NodeName(s), a.Key, a.Val)
				}
			}
		}
	})
}

// TestPermissionPages is the route × role × page test: every role signs in
// and opens every page of the route table it may reach, on a fixture with
// applications in each state and pending maker–checker records; every form,
// link, htmx request and menu item a page offers must lead to a route (of
// the real router) that admits the role.
func TestPermissionPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fx := newPermFixture(e)
	router := e.srv.Router()
	table := map[string]route{}
	for _, rt := range e.srv.routes() {
		table[rt.method+" "+rt.pattern] = rt
	}
	// target matches an offer to its route with the real router.
	target := func(method, path string) (route, bool) {
		rctx := chi.NewRouteContext()
		pattern := router.Find(rctx, method, path)
		rt, ok := table[method+" "+pattern]
		return rt, pattern != "" && ok
	}
	base, _ := url.Parse(e.http.URL)
	hit := map[string]bool{}                    // knownMismatches seen
	offered := map[applications.Role][]string{} // "METHOD pattern" of the forms each role is offered

	for _, role := range applications.AllRoles() {
		c := e.loggedIn(role)
		visited := map[string]bool{}  // concrete paths
		reached := map[string]bool{}  // GET patterns answered (a page, a redirect or a download)
		followed := map[string]bool{} // GET patterns queued from a link
		var queue []string
		for _, rt := range e.srv.routes() {
			if rt.method == http.MethodGet && (rt.access.public() || rt.access.allows(role)) {
				queue = append(queue, fx.concrete(rt.pattern)...)
			}
		}
		var menus [][]offer
		check := func(t *testing.T, page string, o offer) {
			t.Helper()
			rt, ok := target(o.method, o.path)
			if !ok {
				t.Errorf("%s on %s: %s %s → %s %s matches no route (404/405)", role, page, o.kind, o.desc, o.method, o.path)
				return
			}
			if o.kind == "form" && o.method == http.MethodPost {
				offered[role] = append(offered[role], rt.method+" "+rt.pattern)
			}
			if rt.access.public() || rt.access.allows(role) {
				return
			}
			pageRoute, _ := target(http.MethodGet, strings.SplitN(page, "?", 2)[0])
			mk := string(role) + " GET " + pageRoute.pattern + " -> " + rt.method + " " + rt.pattern
			if _, known := knownMismatches[mk]; known {
				hit[mk] = true
				t.Logf("known mismatch: %s", mk)
				return
			}
			t.Errorf("%s on %s offers %s %s → route %s %s refuses %s (403)",
				role, page, o.kind, o.desc, rt.method, rt.pattern, role)
		}
		for len(queue) > 0 {
			path := queue[0]
			queue = queue[1:]
			if visited[path] || path == "/logout" {
				continue
			}
			visited[path] = true
			rt, ok := target(http.MethodGet, strings.SplitN(path, "?", 2)[0])
			if !ok || !(rt.access.public() || rt.access.allows(role)) || rt.pattern == "/static/*" {
				continue // the checks below report the link itself
			}
			t.Run(string(role)+" GET "+path, func(t *testing.T) {
				r := c.get(path)
				switch {
				case r.StatusCode == http.StatusForbidden:
					t.Errorf("%s GET %s: 403, though the route %s admits %s", role, path, rt.pattern, role)
					return
				case r.StatusCode == http.StatusSeeOther || r.StatusCode == http.StatusFound:
					reached[rt.pattern] = true
					loc, err := base.Parse(r.Header.Get("Location"))
					if err == nil && loc.Host == base.Host {
						check(t, path, offer{"redirect", "GET", loc.Path, "Location: " + r.Header.Get("Location"), loc.RequestURI()})
					}
					return
				case r.StatusCode != http.StatusOK:
					t.Logf("%s GET %s: %d, no page to read", role, path, r.StatusCode)
					return
				}
				reached[rt.pattern] = true
				if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
					return // a download
				}
				page, _ := base.Parse(path)
				noTokenInURLs(t, r.doc(t), c.csrf)
				items, menu := offers(r.doc(t), page)
				menus = append(menus, menu)
				for _, o := range items {
					check(t, path, o)
					// Follow the first link to a route the fixture's
					// paths did not answer, so the records only a page
					// links to (inbox, reports, documents, exports) are
					// read too.
					if o.method == http.MethodGet && o.kind != "form" {
						if to, ok := target(o.method, o.path); ok && to.access.allows(role) && !reached[to.pattern] && !followed[to.pattern] && !visited[o.uri] {
							followed[to.pattern] = true
							queue = append(queue, o.uri)
						}
					}
				}
			})
		}
		t.Run(string(role)+" menu", func(t *testing.T) {
			if len(menus) == 0 {
				t.Fatalf("%s reached no page", role)
			}
			seen := map[string]bool{}
			for _, menu := range menus {
				for _, o := range menu {
					if !seen[o.path] {
						seen[o.path] = true
						check(t, "the menu", o)
					}
				}
			}
			if len(seen) == 0 {
				t.Errorf("%s has no menu entries", role)
			}
		})
		t.Run(string(role)+" reaches every page it may", func(t *testing.T) {
			for _, rt := range e.srv.routes() {
				if rt.method != http.MethodGet || !rt.access.allows(role) || reached[rt.pattern] || rt.pattern == "/static/*" {
					continue
				}
				if why, ok := notReached[string(role)+" GET "+rt.pattern]; ok {
					t.Logf("%s GET %s not read: %s", role, rt.pattern, why)
					continue
				}
				t.Errorf("%s may GET %s, but no page of the fixture got an answer from it: add a record or a link", role, rt.pattern)
			}
		})
	}
	t.Run("known mismatches are still true", func(t *testing.T) {
		for mk := range knownMismatches {
			if !hit[mk] {
				t.Errorf("knownMismatches has %q, which no page shows any more: remove it", mk)
			}
		}
	})
	// The fixture is only worth its name if the checker's and the maker's
	// buttons appear: a page that stops offering them fails here.
	t.Run("the fixture shows the maker–checker buttons", func(t *testing.T) {
		want := map[applications.Role][]string{
			approver: {"POST /decisions/{id}/approve", "POST /decisions/{id}/send-back", "POST /disbursements/{id}/approve",
				"POST /ledger/appropriations/{id}/approve", "POST /ledger/reversals/{id}/approve", "POST /conversions/{id}/approve",
				"POST /objections/{id}/approve", "POST /objections/{id}/send-back", "POST /settings/notifications"},
			staff: {"POST /applications/{id}/panel/draw", "POST /applications/{id}/disbursements", "POST /events/{id}/verify",
				"POST /applications/{id}/objections", "POST /ledger/appropriations", "POST /ledger/reversals",
				"POST /conversions/{id}/registration", "POST /applications/{id}/review/{outcome}",
				"POST /applications/{id}/materials/accept-all", "POST /settings/notifications"},
			enterprise: {"POST /applications/{id}/submit", "POST /applications/{id}/events", "POST /settings/notifications"},
			expert:     {"POST /reviews/{id}", "POST /settings/notifications"},
			admin:      {"POST /admin/users", "POST /programmes/{id}", "POST /calendar"},
		}
		for role, forms := range want {
			for _, f := range forms {
				if !slices.Contains(offered[role], f) {
					t.Errorf("no page offers %s a form for %s", role, f)
				}
			}
		}
	})
}

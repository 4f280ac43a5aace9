package server

import (
	"fmt"
	"net/http"
	"slices"

	"ite/internal/applications"
	"ite/web/layout"
)

// The menu, top to bottom. A GET route puts itself in the menu with
// access.inMenu(navX, label); each role sees the entries of the routes that
// admit it, in this order, whatever file the route lives in. Entries of one
// navGroup sit together, so a heading's drop-down keeps this order.
const (
	navHome = iota
	navApplications
	navReviews
	navAudit
	navAuditVerify
	navProgrammes
	navExperts
	navNotices
	navVerification
	navEquity
	navWatchlist
	navReports
	navReportSettings
	navDisbursements
	navLedger
	navLedgerVerify
	navDashboard
	navSimulator
	navInbox
	navColleagues
	navUsers
	navEnterprises
	navCalendar
	navRates

	// issue 16: the security admin's pages and everyone's own account
	navSecurity
	navSecurityAccounts
	navSecurityEvents
	navAccount
)

// navGroup puts menu positions under a heading in the menu bar, so staff's
// fifteen entries fit one line at 1280 px: a heading drops its entries
// down. A position not listed is a link of its own; a group with one entry
// for a role shows as that entry's link (layout.NavGroups).
var navGroup = map[int]string{
	navUsers: "系统设置", navEnterprises: "系统设置", navCalendar: "系统设置", navColleagues: "系统设置",
	navAudit: "审计", navAuditVerify: "审计",
	navProgrammes: "评审立项", navExperts: "评审立项", navNotices: "评审立项",
	navEquity: "投后管理", navWatchlist: "投后管理", navReports: "投后管理", navReportSettings: "投后管理",
	navDisbursements: "资金台账", navLedger: "资金台账", navLedgerVerify: "资金台账",
	navDashboard: "统计测算", navSimulator: "统计测算", navRates: "系统设置",
	navVerification: "评审立项",
	navSecurity:     "安全管理", navSecurityAccounts: "安全管理", navSecurityEvents: "安全管理",
}

// menuEntry is a route's link in the menu. It shows for every role the
// route admits unless roles names fewer of them (never a role the route
// refuses: buildMenu rejects that, so a menu item never leads to a refusal).
// labels overrides the label for some roles (an enterprise's 我的申报 is
// staff's 申报受理).
type menuEntry struct {
	order  int
	label  string
	labels map[applications.Role]string
	roles  []applications.Role
}

// inMenu gives the route a menu entry at position order.
func (a access) inMenu(order int, label string) access {
	a.menu = &menuEntry{order: order, label: label}
	return a
}

// menuFor shows the route's menu entry only for roles (each of which the
// route must admit).
func (a access) menuFor(roles ...applications.Role) access {
	m := *a.menu
	m.roles = roles
	a.menu = &m
	return a
}

// labelFor shows the route's menu entry as label for role.
func (a access) labelFor(role applications.Role, label string) access {
	m := *a.menu
	m.labels = map[applications.Role]string{role: label}
	for r, l := range a.menu.labels {
		m.labels[r] = l
	}
	a.menu = &m
	return a
}

// buildMenu derives each role's menu from the route table. A route part
// may share one access value between several routes (the simulator's page
// and its result); the first route carrying an entry is its link.
func buildMenu(routes []route) (layout.Menu, error) {
	type item struct {
		order int
		nav   layout.NavItem
	}
	byRole := map[applications.Role][]item{}
	seen := map[int]string{}
	for _, rt := range routes {
		m := rt.access.menu
		if m == nil {
			continue
		}
		if rt.method != http.MethodGet {
			return nil, fmt.Errorf("menu entry %q on %s %s: only GET routes are in the menu", m.label, rt.method, rt.pattern)
		}
		if label, ok := seen[m.order]; ok {
			if label != m.label {
				return nil, fmt.Errorf("menu entries %q and %q share position %d", label, m.label, m.order)
			}
			continue
		}
		seen[m.order] = m.label
		for _, role := range m.roles {
			if !rt.access.admits(role) {
				return nil, fmt.Errorf("menu entry %q shows for %s but GET %s refuses that role", m.label, role, rt.pattern)
			}
		}
		for role := range m.labels {
			if !rt.access.admits(role) {
				return nil, fmt.Errorf("menu entry %q has a label for %s but GET %s refuses that role", m.label, role, rt.pattern)
			}
		}
		for _, role := range applications.AllRoles() {
			if !rt.access.admits(role) || (m.roles != nil && !slices.Contains(m.roles, role)) {
				continue
			}
			label := m.label
			if l, ok := m.labels[role]; ok {
				label = l
			}
			byRole[role] = append(byRole[role], item{m.order, layout.NavItem{Label: label, Href: rt.pattern, Group: navGroup[m.order]}})
		}
	}
	menu := layout.Menu{}
	for role, items := range byRole {
		slices.SortStableFunc(items, func(a, b item) int { return a.order - b.order })
		for _, it := range items {
			menu[role] = append(menu[role], it.nav)
		}
	}
	return menu, nil
}

// withMenu hands the layout the menu built from the route table.
func (s *Server) withMenu(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := layout.WithCounts(layout.WithMenu(r.Context(), s.menu), s.todoCounts(r))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

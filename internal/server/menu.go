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
// admit it, in this order, whatever file the route lives in.
const (
	navHome = iota
	navUsers
	navEnterprises
	navAudit
	navAuditVerify
	navApplications
	navDashboard
	navWatchlist
	navEquity
	navDisbursements
	navLedger
	navLedgerVerify
	navProgrammes
	navColleagues
	navReports
	navReportSettings
	navExperts
	navReviews
	navNotices
	navCalendar
	navRates
	navInbox
	navSimulator

	// issue 16: the security admin's pages and everyone's own account
	navSecurity
	navSecurityAccounts
	navSecurityEvents
	navVerification
	navAccount
)

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
			byRole[role] = append(byRole[role], item{m.order, layout.NavItem{Label: label, Href: rt.pattern}})
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

// Package layout is the base page: head, navigation by role, flash, and
// footer. It is the only part of web/ that reads request-wide values, and
// it reads them from the context the server fills in.
package layout

import (
	"context"

	"ite/internal/applications"
	"ite/internal/auth"
)

// Request carries what every page needs but no page should be handed
// explicitly: the signed-in user, the CSRF token, a flash and the request
// ID for error reports.
type Request struct {
	User      *auth.User
	CSRFToken string
	Flash     Flash
	RequestID string
	Path      string
	Programme string // display name of the programme, e.g. 先投后股
}

// Flash is a one-time message shown at the top of the next page.
type Flash struct {
	Kind    string // "success" | "error" | "info"
	Message string
}

type ctxKey struct{}

// WithRequest stores r in ctx for the layout.
func WithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, ctxKey{}, r)
}

// FromContext returns the request info, or an empty one.
func FromContext(ctx context.Context) *Request {
	if r, ok := ctx.Value(ctxKey{}).(*Request); ok {
		return r
	}
	return &Request{Programme: "先投后股"}
}

// NavItem is one link of the navigation.
type NavItem struct {
	Label string
	Href  string
}

// navByRole lists, per role, the pages that exist for it. A page is added
// here when it is built, never before: every link works.
var navByRole = map[applications.Role][]NavItem{
	applications.RoleEnterprise: {{"首页", "/"}},
	applications.RoleStaff:      {{"首页", "/"}},
	applications.RoleApprover:   {{"首页", "/"}},
	applications.RoleExpert:     {{"首页", "/"}},
	applications.RoleAuditor:    {{"首页", "/"}, {"审计日志", "/audit"}, {"链校验", "/audit/verify"}},
	applications.RoleAdmin:      {{"首页", "/"}, {"用户管理", "/admin/users"}, {"企业管理", "/admin/enterprises"}, {"审计日志", "/audit"}},
}

// Nav returns the navigation for the current user.
func Nav(ctx context.Context) []NavItem {
	r := FromContext(ctx)
	if r.User == nil {
		return nil
	}
	return navByRole[r.User.Role]
}

// AddNav registers a page for roles; packages that add pages call it from
// init so the menu grows with the features.
func AddNav(item NavItem, roles ...applications.Role) {
	for _, role := range roles {
		navByRole[role] = append(navByRole[role], item)
	}
}

func isActive(ctx context.Context, href string) bool {
	p := FromContext(ctx).Path
	if href == "/" {
		return p == "/"
	}
	return len(p) >= len(href) && p[:len(href)] == href
}

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
	Group string // the heading it is listed under, "" for a link of its own
}

// NavGroup is one entry of the menu bar: a link of its own (Label "", one
// item), or a heading whose items drop down.
type NavGroup struct {
	Label string
	Items []NavItem
}

// NavGroups returns the current user's navigation as the menu bar shows
// it: items of one group together where the group's first item is, and a
// group with a single item (for this role) as a link of its own.
func NavGroups(ctx context.Context) []NavGroup {
	var out []NavGroup
	at := map[string]int{}
	for _, it := range Nav(ctx) {
		if i, ok := at[it.Group]; ok && it.Group != "" {
			out[i].Items = append(out[i].Items, it)
			continue
		}
		at[it.Group] = len(out)
		out = append(out, NavGroup{Label: it.Group, Items: []NavItem{it}})
	}
	for i := range out {
		if len(out[i].Items) == 1 {
			out[i].Label = ""
		}
	}
	return out
}

func groupActive(ctx context.Context, g NavGroup) bool {
	for _, it := range g.Items {
		if isActive(ctx, it.Href) {
			return true
		}
	}
	return false
}

// Menu is the navigation of each role. The server builds it once from its
// route table, where every page in the menu declares its entry next to the
// roles it admits, and hands it to the layout with WithMenu.
type Menu map[applications.Role][]NavItem

type menuKey struct{}

// WithMenu stores the menu in ctx for the layout.
func WithMenu(ctx context.Context, m Menu) context.Context {
	return context.WithValue(ctx, menuKey{}, m)
}

// Nav returns the navigation for the current user.
func Nav(ctx context.Context) []NavItem {
	r := FromContext(ctx)
	if r.User == nil {
		return nil
	}
	m, _ := ctx.Value(menuKey{}).(Menu)
	return m[r.User.Role]
}

// Counts gives the numbers shown beside menu links, by link (the home
// page's to-do total on "/"). The server installs it with WithCounts; the
// layout asks once per page it renders, so a page served from the page
// cache (rendered for this user at this data generation) costs no query.
type Counts func(ctx context.Context) map[string]int

type countsKey struct{}

// WithCounts stores the counts source in ctx for the layout.
func WithCounts(ctx context.Context, c Counts) context.Context {
	return context.WithValue(ctx, countsKey{}, c)
}

// navCounts returns the counts for the current page, or none.
func navCounts(ctx context.Context) map[string]int {
	if c, ok := ctx.Value(countsKey{}).(Counts); ok && c != nil {
		return c(ctx)
	}
	return nil
}

func isActive(ctx context.Context, href string) bool {
	p := FromContext(ctx).Path
	if href == "/" {
		return p == "/"
	}
	return len(p) >= len(href) && p[:len(href)] == href
}

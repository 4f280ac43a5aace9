package server

import (
	"io/fs"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"ite/internal/applications"
	"ite/web"
)

// access declares who may use a route: the one action of the permission
// table (applications.Action, DOMAIN §2) the route performs. Who may is
// never written here: it is read from the table (Role.Can), so the route,
// the menu, the buttons a page offers and the store cannot disagree. The
// zero value names no action and admits nobody, so a route added without
// thinking about access is refused, not open. A GET route may also carry
// its entry in the menu (inMenu): the menu is built from the route table
// (menu.go), so an entry shows only for roles the route admits.
type access struct {
	action applications.Action // what the route does; its roles are the table's
	menu   *menuEntry          // the route's link in the menu, if any
}

// can is the access of a route that performs action a.
func can(a applications.Action) access { return access{action: a} }

// public reports whether anyone may use the route, signed in or not.
func (a access) public() bool { return a.action.Public() }

// allows reports whether the route is for signed-in users and role is one
// of theirs (false for a public route, which admits without a role).
func (a access) allows(role applications.Role) bool { return !a.public() && role.Can(a.action) }

// admits reports whether a signed-in user with role may use the route (a
// public route admits every role).
func (a access) admits(role applications.Role) bool { return a.public() || a.allows(role) }

// Shorthands for the roles (menu entries, the data a role sees, tests).
const (
	enterprise = applications.RoleEnterprise
	staff      = applications.RoleStaff
	approver   = applications.RoleApprover
	expert     = applications.RoleExpert
	auditor    = applications.RoleAuditor
	admin      = applications.RoleAdmin
	trustee    = applications.RoleTrustee
)

// route is one line of the route table.
type route struct {
	method  string
	pattern string
	access  access
	handle  handlerFunc
}

// routes is THE route table: every endpoint of the application, with the
// action it performs (who may call it is the permission table's) and, for
// a page in the menu, its menu entry. Each resource
// keeps its part in its own file (xxxRoutes, beside its handlers); tests
// walk the whole of it against the router and every role.
func (s *Server) routes() []route {
	var all []route
	for _, part := range [][]route{
		s.staticRoutes(),
		s.healthRoutes(),
		s.sessionRoutes(),
		s.homeRoutes(),
		s.userRoutes(),
		s.enterpriseRoutes(),
		s.auditRoutes(),
		s.registerRoutes(),
		s.programmeRoutes(),
		s.applicationRoutes(),
		s.documentRoutes(),
		s.templateRoutes(),
		s.expertRoutes(),
		s.panelRoutes(),
		s.infoRequestRoutes(),
		s.reviewRoutes(),
		s.decisionRoutes(),
		s.noticeRoutes(),
		s.objectionRoutes(),
		s.agreementRoutes(),
		s.termsRoutes(),
		s.agreementTemplateRoutes(),
		s.printoutRoutes(),
		s.inboxRoutes(),
		s.settingsRoutes(),
		s.calendarRoutes(),
		s.rateRoutes(),
		s.equityRoutes(),
		s.eventRoutes(),
		s.conversionRoutes(),
		s.exitRoutes(),
		s.endingRoutes(),
		s.minutesRoutes(),
		s.eligibilityRoutes(),
		s.acceptanceRoutes(),
		s.watchlistRoutes(),
		s.ledgerRoutes(),
		s.periodRoutes(),
		s.anchorRoutes(),
		s.balanceRoutes(),
		s.certificateRoutes(),
		s.appropriationRoutes(),
		s.disbursementRoutes(),
		s.reversalRoutes(),
		s.calcRoutes(),
		s.reportRoutes(),
		s.dashboardRoutes(),
		s.indicatorRoutes(),
		s.totpRoutes(),
		s.accountRoutes(),
		s.securityRoutes(),
		s.verificationRoutes(),
	} {
		all = append(all, part...)
	}
	return all
}

// staticRoutes: the embedded assets.
func (s *Server) staticRoutes() []route {
	return []route{
		{"GET", "/static/*", can(applications.ActionUseSite), s.handleStatic},
	}
}

func (s *Server) buildRouter() chi.Router {
	menu, err := buildMenu(s.routes())
	if err != nil {
		panic(err) // a menu entry the route table contradicts is a programming error
	}
	s.menu = menu
	r := chi.NewRouter()
	r.Use(s.withMenu, s.requestID, s.recoverer, s.logRequests, securityHeaders, s.loadSession, s.csrf)
	r.NotFound(s.adapt(func(w http.ResponseWriter, r *http.Request) error {
		return applications.Errorf(applications.NotFound, "页面不存在，请检查地址或从首页进入。")
	}))
	r.MethodNotAllowed(s.adapt(func(w http.ResponseWriter, req *http.Request) error {
		if req.Method == http.MethodGet || req.Method == http.MethodHead {
			// A form refused is shown again at its POST address; opening
			// that address again (Enter in the address bar, a bookmark, a
			// refresh the browser turned into a GET) goes back to the page
			// of the form instead of an error.
			http.Redirect(w, req, formPage(r, req.URL.Path), http.StatusSeeOther)
			return nil
		}
		return &applications.Error{Kind: applications.Invalid, Message: "不支持该请求方式。"}
	}))
	for _, rt := range s.routes() {
		if rt.method == http.MethodGet && cachedPages[rt.pattern] {
			rt.handle = s.cached(rt.handle) // behind the gate: roles are checked on every request
		}
		r.Method(rt.method, rt.pattern, s.adapt(s.gate(rt)))
	}
	return r
}

// formPage is the page to show for a GET of path, an address only POST
// answers (a form's action): the nearest ancestor that is a page, found by
// dropping path segments (/applications/7/panel/draw → /applications/7),
// or the home page when none is (/decisions/3/approve: the review that
// shows that form is not in the address).
func formPage(router chi.Routes, path string) string {
	p := strings.TrimSuffix(path, "/")
	for {
		i := strings.LastIndexByte(p, '/')
		if i <= 0 {
			return "/"
		}
		p = p[:i]
		if router.Match(chi.NewRouteContext(), http.MethodGet, p) {
			return p
		}
	}
}

var staticFiles = func() http.Handler {
	sub, err := fs.Sub(web.Static, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the folder
	}
	return http.StripPrefix("/static/", http.FileServerFS(sub))
}()

// handleStatic serves the embedded assets (GET /static/*). Browsers may
// keep them for a day; they change only with a deploy.
func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "public, max-age=86400")
	staticFiles.ServeHTTP(w, r)
	return nil
}

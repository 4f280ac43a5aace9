package server

import (
	"io/fs"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"ite/internal/applications"
	"ite/web"
)

// access declares who may use a route. The zero value admits nobody, so a
// route added without thinking about access is refused, not open.
type access struct {
	public bool                // anyone, signed in or not
	roles  []applications.Role // signed-in users with one of these roles
}

func (a access) allows(role applications.Role) bool { return slices.Contains(a.roles, role) }

var (
	public  = access{public: true}
	anyRole = access{roles: applications.AllRoles()}
)

func only(roles ...applications.Role) access { return access{roles: roles} }

// Shorthands for the role sets the routes use.
const (
	enterprise = applications.RoleEnterprise
	staff      = applications.RoleStaff
	approver   = applications.RoleApprover
	expert     = applications.RoleExpert
	auditor    = applications.RoleAuditor
	admin      = applications.RoleAdmin
)

// route is one line of the route table.
type route struct {
	method  string
	pattern string
	access  access
	handle  handlerFunc
}

// routes is THE route table: every endpoint of the application, with who
// may call it. Each feature keeps its part in its own file (xxxRoutes) so
// the table grows without edits colliding; tests walk the whole of it
// against the router and every role.
func (s *Server) routes() []route {
	var all []route
	for _, part := range [][]route{
		s.foundationRoutes(),
		s.applicationRoutes(),
		s.reviewRoutes(),
		s.equityRoutes(),
		s.ledgerRoutes(),
		s.calcRoutes(),
		s.reportRoutes(),
		s.dashboardRoutes(),
	} {
		all = append(all, part...)
	}
	return all
}

// foundationRoutes: sign-in, home, health, admin of users, the audit log.
func (s *Server) foundationRoutes() []route {
	return []route{
		{"GET", "/static/*", public, s.handleStatic},
		{"GET", "/healthz", public, s.handleHealthz},
		{"GET", "/readyz", public, s.handleReadyz},
		{"GET", "/login", public, s.handleLoginForm},
		{"POST", "/login", public, s.handleLogin},
		{"POST", "/logout", anyRole, s.handleLogout},
		{"GET", "/", anyRole, s.handleHome},

		{"GET", "/admin/users", only(admin), s.handleAdminUsers},
		{"POST", "/admin/users", only(admin), s.handleAdminUserCreate},
		{"GET", "/admin/users/{id}", only(admin), s.handleAdminUserShow},
		{"POST", "/admin/users/{id}", only(admin), s.handleAdminUserUpdate},
		{"POST", "/admin/users/{id}/password", only(admin), s.handleAdminUserPassword},
		{"POST", "/admin/users/{id}/status", only(admin), s.handleAdminUserStatus},
		{"GET", "/admin/enterprises", only(admin), s.handleAdminEnterprises},
		{"POST", "/admin/enterprises", only(admin), s.handleAdminEnterpriseCreate},

		{"GET", "/audit", only(auditor, admin), s.handleAuditLog},
		{"GET", "/audit/verify", only(auditor, admin), s.handleAuditVerify},
	}
}

func (s *Server) buildRouter() chi.Router {
	r := chi.NewRouter()
	r.Use(s.requestID, s.recoverer, s.logRequests, securityHeaders, s.loadSession, s.csrf)
	r.NotFound(s.adapt(func(w http.ResponseWriter, r *http.Request) error {
		return applications.Errorf(applications.NotFound, "页面不存在，请检查地址或从首页进入。")
	}))
	r.MethodNotAllowed(s.adapt(func(w http.ResponseWriter, r *http.Request) error {
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

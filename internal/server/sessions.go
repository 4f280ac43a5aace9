package server

import (
	"net/http"
	"strings"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/internal/postgres"
	"ite/web/page"
)

// sessionRoutes: signing in and out.
func (s *Server) sessionRoutes() []route {
	return []route{
		{"GET", "/login", can(applications.ActionSignIn), s.handleLoginForm},
		{"POST", "/login", can(applications.ActionSignIn), s.handleLogin},
		{"POST", "/logout", can(applications.ActionSignOut), s.handleLogout},
	}
}

// handleLoginForm shows the sign-in page (GET /login), with the username
// filled in when ?username= gives one (after registering, if signing the
// new user in did not succeed).
func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) error {
	if currentUser(r) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	q := r.URL.Query()
	return s.render(w, r, http.StatusOK, page.Login(page.LoginView{
		Username: strings.TrimSpace(q.Get("username")), Next: safeNext(q.Get("next")), CSRFToken: s.preSessionToken(w, r),
	}))
}

// handleLogin checks the credentials (POST /login). On success the browser
// gets a brand-new session ID; the old one, if any, is deleted.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	username := strings.TrimSpace(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	fail := func(status int, msg string) error {
		return s.render(w, r, status, page.Login(page.LoginView{
			Username: username, Next: next, Error: msg, CSRFToken: s.preSessionToken(w, r)}))
	}
	if username == "" || password == "" {
		return fail(http.StatusUnprocessableEntity, "请输入用户名和密码。")
	}
	u, result, err := s.checkLogin(r, username, password)
	if err != nil {
		return err
	}
	switch result {
	case postgres.LoginLocked:
		return fail(http.StatusTooManyRequests, "连续登录失败次数过多，账号已锁定 30 分钟。请稍后再试，或联系系统管理员重置密码。")
	case postgres.LoginDisabled:
		return fail(http.StatusForbidden, "该账号已停用。如有疑问，请联系系统管理员。")
	case postgres.LoginBadCredentials:
		return fail(http.StatusUnauthorized, "用户名或密码不正确，请重新输入。连续失败 5 次账号将被锁定 30 分钟。")
	}
	if err := s.startSession(w, r, u); err != nil {
		return err
	}
	if next == "" {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// checkLogin checks a username and password through the store's Login
// (failure count, lock-out, and the login audit row in one transaction).
// Registration signs the new user in through it too, so both leave the
// same audit rows.
func (s *Server) checkLogin(r *http.Request, username, password string) (auth.User, postgres.LoginResult, error) {
	return s.DB.Login(r.Context(), actor(r), username, func(hash string) bool {
		ok, err := auth.VerifyPassword(password, hash)
		return err == nil && ok
	})
}

// startSession gives the browser a brand-new session for u (the old one,
// if any, is deleted) and drops the pre-session CSRF cookie: the end of
// every sign-in, by the login form or right after registering.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u auth.User) error {
	old := ""
	if c, err := r.Cookie(sessionCookie); err == nil {
		old = c.Value
	}
	token, csrf := auth.NewToken(), auth.NewToken()
	if err := s.DB.CreateSession(r.Context(), u.ID, token, csrf, old, clientIP(r), r.UserAgent()); err != nil {
		return err
	}
	s.setCookie(w, r, sessionCookie, token, auth.AbsoluteLifetime)
	s.clearCookie(w, r, preSessionCookie)
	return nil
}

// handleLogout ends the session (POST /logout).
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.DB.DeleteSession(r.Context(), c.Value); err != nil {
			return err
		}
	}
	s.audit(r, audit.Event{Name: "logout", Outcome: audit.Success, ObjectType: "user"})
	s.clearCookie(w, r, sessionCookie)
	return s.redirectWithFlash(w, r, "/login", "您已安全退出。")
}

// safeNext keeps post-login redirects on this site: only a local path is
// accepted ("/x", not "//evil" or "https://...").
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return ""
	}
	return next
}

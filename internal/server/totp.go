package server

import (
	"net/http"
	"strings"

	"ite/internal/applications"
	"ite/internal/auth"
	"ite/internal/postgres"
	"ite/web/page"
)

// The second step of signing in (issue 16): after the password, a user
// enrolled in TOTP types the code of their authenticator app (or a
// recovery code). Between the two steps the browser holds only the
// pending cookie, which names a pending_logins row: the session
// middleware never reads it, so a half-signed-in browser is refused every
// page but this one.

// totpRoutes: the code step of signing in.
func (s *Server) totpRoutes() []route {
	return []route{
		{"GET", "/login/code", can(applications.ActionSignIn), s.handleLoginCodeForm},
		{"POST", "/login/code", can(applications.ActionSignIn), s.handleLoginCode},
	}
}

const pendingCookie = "ite_pending"

// totpIssuer names the site in authenticator apps.
func (s *Server) totpIssuer() string {
	if s.Programme != "" {
		return s.Programme
	}
	return "ITE"
}

// startSecondFactor stores the pending sign-in and sends the browser to
// the code page.
func (s *Server) startSecondFactor(w http.ResponseWriter, r *http.Request, u auth.User, next string) error {
	token := auth.NewToken()
	if err := s.DB.CreatePendingLogin(r.Context(), u.ID, token, next); err != nil {
		return err
	}
	s.setCookie(w, r, pendingCookie, token, postgres.PendingLoginLifetime)
	http.Redirect(w, r, "/login/code", http.StatusSeeOther)
	return nil
}

func pendingToken(r *http.Request) string {
	if c, err := r.Cookie(pendingCookie); err == nil {
		return c.Value
	}
	return ""
}

// handleLoginCodeForm shows the code page (GET /login/code); without a
// live pending sign-in it sends the browser back to the password.
func (s *Server) handleLoginCodeForm(w http.ResponseWriter, r *http.Request) error {
	username, err := s.DB.PendingLoginUser(r.Context(), pendingToken(r))
	if applications.ErrorKind(err) == applications.Unauthenticated {
		s.clearCookie(w, r, pendingCookie)
		return s.redirectWithFlash(w, r, "/login", applications.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.LoginCode(page.LoginCodeView{Username: username, CSRFToken: s.preSessionToken(w, r)}))
}

// handleLoginCode checks the code (POST /login/code) and on success starts
// the session. A wrong, replayed or spent code gets a 401 with its reason
// in Chinese; the fifth failure in a row locks the account (429), as
// passwords do.
func (s *Server) handleLoginCode(w http.ResponseWriter, r *http.Request) error {
	token := pendingToken(r)
	code := strings.TrimSpace(r.PostFormValue("code"))
	username, err := s.DB.PendingLoginUser(r.Context(), token)
	if applications.ErrorKind(err) == applications.Unauthenticated {
		// No password step behind this code (never, or too long ago).
		s.clearCookie(w, r, pendingCookie)
		return s.redirectWithFlash(w, r, "/login", applications.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	fail := func(status int, msg string) error {
		return s.render(w, r, status, page.LoginCode(page.LoginCodeView{Username: username, Error: msg,
			CSRFToken: s.preSessionToken(w, r)}))
	}
	if code == "" {
		return fail(http.StatusUnprocessableEntity, "请输入身份验证器显示的 6 位动态验证码，或一个恢复码。")
	}
	in := postgres.SecondFactorInput{Match: func(secret string, lastStep int64) (int64, bool, bool) {
		return auth.MatchTOTP(secret, code, s.Now(), lastStep)
	}}
	if auth.LooksLikeRecoveryCode(code) {
		in.RecoveryHash = auth.RecoveryCodeHash(code)
	}
	u, next, result, err := s.DB.VerifySecondFactor(r.Context(), actor(r), token, in)
	if applications.ErrorKind(err) == applications.Unauthenticated {
		s.clearCookie(w, r, pendingCookie)
		return s.render(w, r, http.StatusUnauthorized, page.Login(page.LoginView{
			Error: applications.ErrorMessage(err), CSRFToken: s.preSessionToken(w, r)}))
	} else if err != nil {
		return err
	}
	switch result {
	case postgres.SecondFactorLocked:
		s.clearCookie(w, r, pendingCookie)
		return s.render(w, r, http.StatusTooManyRequests, page.Login(page.LoginView{
			Username: username, Error: msgLocked, CSRFToken: s.preSessionToken(w, r)}))
	case postgres.SecondFactorReplayed:
		return fail(http.StatusUnauthorized, "该动态验证码已使用过，不能重复使用。请等待身份验证器显示新的验证码后再输入。")
	case postgres.SecondFactorRecoveryUsed:
		return fail(http.StatusUnauthorized, "该恢复码已使用过，每个恢复码只能使用一次。请输入动态验证码或另一个未使用的恢复码。")
	case postgres.SecondFactorWrong:
		return fail(http.StatusUnauthorized, "动态验证码不正确或已过期，请输入身份验证器当前显示的 6 位数字。连续失败 5 次账号将被锁定 30 分钟。")
	}
	return s.startSession(w, r, u, next)
}

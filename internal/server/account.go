package server

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/web/format"
	"ite/web/page"
	"ite/web/ui"
)

// A user's own account (issue 16): change the password, enrol the second
// factor, see and end their sessions. Every role has it.

// accountRoutes: the signed-in user's own account.
func (s *Server) accountRoutes() []route {
	return []route{
		{"GET", "/account", can(applications.ActionManageOwnAccount).inMenu(navAccount, "我的账号"), s.handleAccount},
		{"GET", "/account/password", can(applications.ActionManageOwnAccount), s.handlePasswordForm},
		{"POST", "/account/password", can(applications.ActionManageOwnAccount), s.handlePasswordChange},
		{"GET", "/account/second-factor", can(applications.ActionManageOwnAccount), s.handleEnrolForm},
		{"POST", "/account/second-factor", can(applications.ActionManageOwnAccount), s.handleEnrol},
		{"POST", "/account/sessions/end-others", can(applications.ActionManageOwnAccount), s.handleEndOtherSessions},
	}
}

// Until a forced password change or a required enrolment is done, the
// user may reach only these (accountHold).
var (
	passwordHoldPaths = []string{"/account/password", "/logout"}
	enrolHoldPaths    = []string{"/account/second-factor", "/logout"}
)

// accountHold sends a user who must first change their password, or
// enrol a second factor, to that page whatever they asked for: a GET is
// redirected, anything else refused with 403. done is true when the
// request was answered.
func (s *Server) accountHold(w http.ResponseWriter, r *http.Request) (done bool, err error) {
	sess := sessionFrom(r.Context())
	if sess == nil {
		return false, nil
	}
	target, allowed := "", []string(nil)
	switch {
	case sess.NeedsPasswordChange(s.Now()) != "":
		target, allowed = "/account/password", passwordHoldPaths
	case sess.NeedsEnrolment():
		target, allowed = "/account/second-factor", enrolHoldPaths
	default:
		return false, nil
	}
	if slices.Contains(allowed, r.URL.Path) {
		return false, nil
	}
	if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
		http.Redirect(w, r, target, http.StatusSeeOther)
		return true, nil
	}
	return true, applications.Errorf(applications.Forbidden, "请先完成账号安全设置（修改密码或启用双因素认证）后再继续操作。")
}

// auditPasswordExpiry records, at sign-in, that the password is past its
// age: the refusal of issue 16 point 7, visible on the security events page.
func (s *Server) auditPasswordExpiry(r *http.Request, u auth.User) {
	p, err := s.DB.SecurityPolicy(r.Context())
	if err != nil {
		s.Logger.Error("security policy", "err", err, "request_id", requestIDFrom(r.Context()))
		return
	}
	if !u.MustChangePassword && p.PasswordExpired(u.PasswordChangedAt, s.Now()) {
		s.audit(r, audit.Event{Name: "password_expired", Outcome: audit.Refused, ObjectType: "user",
			ObjectID: fmtInt(u.ID), Detail: map[string]any{"username": u.Username, "changed_at": u.PasswordChangedAt.UTC().Format(time.RFC3339)}})
	}
}

func sessionToken(r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// handleAccount shows the user's account page (GET /account).
func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) error {
	sess := sessionFrom(r.Context())
	u := sess.User
	sessions, err := s.DB.ListSessions(r.Context(), u.ID, sessionToken(r))
	if err != nil {
		return err
	}
	left, err := s.DB.RecoveryCodesLeft(r.Context(), u.ID)
	if err != nil {
		return err
	}
	v := page.AccountView{User: u, Policy: sess.Policy, Required: sess.Policy.RequiresSecondFactor(u.Role),
		RecoveryLeft: left, Sessions: sessions}
	if sess.Policy.PasswordMaxAge > 0 {
		v.PasswordExpiry = format.DateTime(u.PasswordChangedAt.Add(sess.Policy.PasswordMaxAge))
	}
	return s.render(w, r, http.StatusOK, page.Account(v))
}

// handlePasswordForm shows the change-password page with the policy
// (GET /account/password).
func (s *Server) handlePasswordForm(w http.ResponseWriter, r *http.Request) error {
	return s.renderPasswordForm(w, r, http.StatusOK, nil, "")
}

func (s *Server) renderPasswordForm(w http.ResponseWriter, r *http.Request, status int, errs ui.Errors, formErr string) error {
	sess := sessionFrom(r.Context())
	return s.render(w, r, status, page.ChangePassword(page.ChangePasswordView{
		Reason: sess.NeedsPasswordChange(s.Now()), Rules: sess.Policy.Rules(), Errors: errs, FormError: formErr}))
}

// handlePasswordChange changes the user's own password
// (POST /account/password): the old one, the new one twice, the policy
// and the history. Success ends every other session. A refusal is 422 (a
// wrong old password 401) with its audit row.
func (s *Server) handlePasswordChange(w http.ResponseWriter, r *http.Request) error {
	sess := sessionFrom(r.Context())
	u := sess.User
	old, pw, pw2 := r.PostFormValue("old_password"), r.PostFormValue("password"), r.PostFormValue("password2")
	refuse := func(status int, field, msg, reason string) error {
		s.audit(r, audit.Event{Name: "password_change_refused", Outcome: audit.Refused, ObjectType: "user",
			ObjectID: fmtInt(u.ID), Detail: map[string]any{"reason": reason}})
		return s.renderPasswordForm(w, r, status, ui.Errors{field: msg}, "请按提示修改后重新提交。")
	}
	hash, err := s.DB.PasswordHash(r.Context(), u.ID)
	if err != nil {
		return err
	}
	if ok, err := auth.VerifyPassword(old, hash); err != nil || !ok {
		return refuse(http.StatusUnauthorized, "old_password", "当前密码不正确。", "wrong_old_password")
	}
	if err := sess.Policy.CheckPassword(pw); err != nil {
		return refuse(http.StatusUnprocessableEntity, "password", applications.ErrorMessage(err), "policy")
	}
	if pw != pw2 {
		return refuse(http.StatusUnprocessableEntity, "password2", "两次输入的新密码不一致，请重新输入。", "mismatch")
	}
	recent, err := s.DB.RecentPasswordHashes(r.Context(), u.ID, sess.Policy.PasswordHistory)
	if err != nil {
		return err
	}
	for _, h := range recent {
		if ok, err := auth.VerifyPassword(pw, h); err == nil && ok {
			return refuse(http.StatusUnprocessableEntity, "password",
				"新密码不能与最近 "+fmtInt(int64(sess.Policy.PasswordHistory))+" 次使用过的密码相同，请换一个新密码。", "reused")
		}
	}
	newHash, err := auth.HashPassword(pw, s.PasswordParams)
	if err != nil {
		return err
	}
	if err := s.DB.ChangePassword(r.Context(), actor(r), u.ID, newHash, sessionToken(r), sess.NeedsPasswordChange(s.Now())); err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/account", "密码已修改；您在其他浏览器或设备上的登录会话已全部结束。")
}

// handleEnrolForm shows a fresh TOTP secret as a QR code and as text
// (GET /account/second-factor). The secret travels in the form signed by
// the server, so nothing is stored until a code confirms it.
func (s *Server) handleEnrolForm(w http.ResponseWriter, r *http.Request) error {
	if sessionFrom(r.Context()).User.TOTPEnrolled {
		return s.redirectWithFlash(w, r, "/account", "您已启用双因素认证。")
	}
	return s.renderEnrol(w, r, http.StatusOK, auth.NewTOTPSecret(), nil, "")
}

func (s *Server) renderEnrol(w http.ResponseWriter, r *http.Request, status int, secret string, errs ui.Errors, formErr string) error {
	sess := sessionFrom(r.Context())
	qr, err := auth.TOTPQRCode(s.totpIssuer(), sess.User.Username, secret)
	if err != nil {
		return err
	}
	return s.render(w, r, status, page.Enrol(page.EnrolView{Forced: sess.NeedsEnrolment(), Secret: secret,
		Signed: s.signSecret(sess.User.ID, secret), QRCode: qr, Errors: errs, FormError: formErr}))
}

// signSecret binds a proposed secret to the user, so a secret can only be
// enrolled by the user it was shown to.
func (s *Server) signSecret(userID int64, secret string) string {
	return s.sign("totp:" + fmtInt(userID) + ":" + secret)
}

// handleEnrol confirms the secret with a code and stores it with ten
// recovery codes, shown once (POST /account/second-factor).
func (s *Server) handleEnrol(w http.ResponseWriter, r *http.Request) error {
	sess := sessionFrom(r.Context())
	u := sess.User
	signed := r.PostFormValue("secret")
	prefix := "totp:" + fmtInt(u.ID) + ":"
	body, _, _ := strings.Cut(signed, ".")
	if !s.validSigned(signed) || !strings.HasPrefix(body, prefix) {
		return applications.Errorf(applications.Invalid, "页面已过期，请刷新后重新扫描二维码。")
	}
	secret := strings.TrimPrefix(body, prefix)
	step, ok, _ := auth.MatchTOTP(secret, r.PostFormValue("code"), s.Now(), 0)
	if !ok {
		s.audit(r, audit.Event{Name: "second_factor_failed", Outcome: audit.Failure, ObjectType: "user",
			ObjectID: fmtInt(u.ID), Detail: map[string]any{"reason": "wrong_code", "step": "enrol"}})
		return s.renderEnrol(w, r, http.StatusUnprocessableEntity, secret,
			ui.Errors{"code": "动态验证码不正确，请确认已扫描本页二维码，并输入应用当前显示的 6 位数字。"}, "")
	}
	codes := auth.NewRecoveryCodes()
	hashes := make([][]byte, len(codes))
	for i, c := range codes {
		hashes[i] = auth.RecoveryCodeHash(c)
	}
	if err := s.DB.EnrolSecondFactor(r.Context(), actor(r), u.ID, secret, step, hashes, sessionToken(r)); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.RecoveryCodes(page.RecoveryCodesView{Codes: codes}))
}

// handleEndOtherSessions signs the user out everywhere else
// (POST /account/sessions/end-others).
func (s *Server) handleEndOtherSessions(w http.ResponseWriter, r *http.Request) error {
	n, err := s.DB.EndOtherSessions(r.Context(), actor(r), currentUser(r).ID, sessionToken(r))
	if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/account", "已结束其他 "+fmtInt(n)+" 个登录会话。")
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }

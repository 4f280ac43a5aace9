package server

import (
	"net/http"
	"strings"

	"ite/internal/applications"
	"ite/internal/auth"
	"ite/internal/day"
	"ite/internal/postgres"
	"ite/web/page"
	"ite/web/ui"
)

// registerRoutes: an enterprise's registration and its colleagues' accounts.
func (s *Server) registerRoutes() []route {
	return []route{
		{"GET", "/register", can(applications.ActionRegisterEnterprise), s.handleRegisterForm},
		{"POST", "/register", can(applications.ActionRegisterEnterprise), s.handleRegister},
		{"GET", "/enterprise/colleagues", can(applications.ActionManageColleagues).inMenu(navColleagues, "本企业账号"), s.handleColleagues},
		{"POST", "/enterprise/colleagues", can(applications.ActionManageColleagues), s.handleColleagueCreate},
	}
}

var registerFields = []string{"name", "uscc", "legal_rep", "registered_capital", "paid_in_capital", "founded_on", "address",
	"in_zone", "contact_name", "contact_mobile", "username"}

// handleRegisterForm shows enterprise self-registration (GET /register).
func (s *Server) handleRegisterForm(w http.ResponseWriter, r *http.Request) error {
	if currentUser(r) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	return s.render(w, r, http.StatusOK, page.Register(page.RegisterView{Form: map[string]string{}, CSRFToken: s.preSessionToken(w, r)}))
}

// handleRegister creates the enterprise and its first user, then signs
// the new user in (POST /register).
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) error {
	form := map[string]string{}
	for _, f := range registerFields {
		form[f] = strings.TrimSpace(r.PostFormValue(f))
	}
	errs := ui.Errors{}
	p := applications.EnterpriseProfile{Name: form["name"], USCC: form["uscc"], LegalRep: form["legal_rep"],
		Address: form["address"], ContactName: form["contact_name"], ContactMobile: form["contact_mobile"]}
	if d, err := applications.ParseAmount(form["registered_capital"]); err == nil {
		p.RegisteredCapital = d
	} else {
		errs["registered_capital"] = "注册资本（元）：" + applications.AmountMessage
	}
	if d, err := optionalAmount("paid_in_capital", form["paid_in_capital"]); err == nil {
		p.PaidInCapital, p.InZone = d, form["in_zone"] == "1"
	} else {
		errs["paid_in_capital"] = "实缴资本须为金额（元），最多两位小数，不带逗号；未实缴可留空。"
	}
	if d, err := day.Parse(form["founded_on"]); err == nil {
		p.FoundedOn = d
	} else {
		errs["founded_on"] = "请填写成立日期（年-月-日）。"
	}
	password := r.PostFormValue("password")
	if err := applications.ValidatePassword(password); err != nil {
		errs["password"] = applications.ErrorMessage(err)
	}
	if form["username"] == "" {
		errs["username"] = "请填写用户名。"
	}
	if len(errs) == 0 {
		if err := p.Validate(s.Now()); err != nil {
			addFieldError(errs, err)
		}
	}
	fail := func(status int, msg string) error {
		return s.render(w, r, status, page.Register(page.RegisterView{Form: form, Errors: errs, FormError: msg,
			CSRFToken: s.preSessionToken(w, r)}))
	}
	if len(errs) > 0 {
		return fail(http.StatusUnprocessableEntity, "请按提示修改后重新提交。")
	}
	hash, err := auth.HashPassword(password, s.PasswordParams)
	if err != nil {
		return err
	}
	_, nu, err := s.DB.RegisterEnterprise(r.Context(), actor(r), p, postgres.NewUser{
		Username: form["username"], DisplayName: p.ContactName, Role: applications.RoleEnterprise, PasswordHash: hash})
	if err != nil {
		k := applications.ErrorKind(err)
		if k == applications.Internal {
			return err
		}
		if k == applications.Invalid && addFieldError(errs, err) && errs["_form"] == "" {
			return fail(http.StatusUnprocessableEntity, "请按提示修改后重新提交。")
		}
		return fail(statusOf[k], applications.ErrorMessage(err))
	}
	// Signed in as the login form would: the same check, audit row and
	// fresh session.
	u, result, err := s.checkLogin(r, nu.Username, password)
	if err != nil {
		return err
	}
	if result != postgres.LoginOK {
		return s.redirectWithFlash(w, r, "/login?username="+urlQueryEscape(nu.Username), "注册成功，请用刚才设置的用户名和密码登录。")
	}
	s.flash(w, r, "success", "注册成功，已为您登录。现在可以填写本企业的第一份申报。")
	return s.startSession(w, r, u, "/")
}

// handleColleagues lists the enterprise's users (GET /enterprise/colleagues).
func (s *Server) handleColleagues(w http.ResponseWriter, r *http.Request) error {
	return s.renderColleagues(w, r, http.StatusOK, map[string]string{}, nil, "")
}

func (s *Server) renderColleagues(w http.ResponseWriter, r *http.Request, status int, form map[string]string, errs ui.Errors, msg string) error {
	u := currentUser(r)
	if u.EnterpriseID == 0 {
		return applications.Errorf(applications.Forbidden, "您的账号尚未绑定企业，请联系系统管理员。")
	}
	users, err := s.DB.ListEnterpriseUsers(r.Context(), u.EnterpriseID)
	if err != nil {
		return err
	}
	return s.render(w, r, status, page.Colleagues(page.ColleaguesView{Users: users, Form: form, Errors: errs, FormError: msg}))
}

// handleColleagueCreate adds a user to the caller's enterprise
// (POST /enterprise/colleagues).
func (s *Server) handleColleagueCreate(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r)
	form := map[string]string{"username": strings.ToLower(strings.TrimSpace(r.PostFormValue("username"))),
		"display_name": strings.TrimSpace(r.PostFormValue("display_name"))}
	errs := ui.Errors{}
	if form["username"] == "" {
		errs["username"] = "请填写用户名。"
	}
	if form["display_name"] == "" {
		errs["display_name"] = "请填写姓名。"
	}
	password := r.PostFormValue("password")
	if err := applications.ValidatePassword(password); err != nil {
		errs["password"] = applications.ErrorMessage(err)
	}
	if len(errs) > 0 {
		return s.renderColleagues(w, r, http.StatusUnprocessableEntity, form, errs, "请按提示修改后重新提交。")
	}
	if u.EnterpriseID == 0 {
		return applications.Errorf(applications.Forbidden, "您的账号尚未绑定企业，请联系系统管理员。")
	}
	hash, err := auth.HashPassword(password, s.PasswordParams)
	if err != nil {
		return err
	}
	_, err = s.DB.CreateUser(r.Context(), actor(r), postgres.NewUser{Username: form["username"],
		DisplayName: form["display_name"], Role: applications.RoleEnterprise, PasswordHash: hash, EnterpriseID: u.EnterpriseID,
		MustChangePassword: true})
	if e, ok := refused(err); ok {
		return s.renderColleagues(w, r, statusOf[e.Kind], form, nil, e.Message)
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/enterprise/colleagues", "已添加同事 "+form["username"]+"，请把初始密码当面告知。")
}

package server

import (
	"net/http"
	"strconv"
	"strings"

	"ite/internal/applications"
	"ite/internal/auth"
	"ite/internal/postgres"
	"ite/web/page"
	"ite/web/ui"
)

// userRoutes: the administration of user accounts.
func (s *Server) userRoutes() []route {
	return []route{
		{"GET", "/admin/users", can(applications.ActionManageUsers).inMenu(navUsers, "用户管理"), s.handleAdminUsers},
		{"POST", "/admin/users", can(applications.ActionManageUsers), s.handleAdminUserCreate},
		{"GET", "/admin/users/{id}", can(applications.ActionManageUsers), s.handleAdminUserShow},
		{"POST", "/admin/users/{id}", can(applications.ActionManageUsers), s.handleAdminUserUpdate},
		{"POST", "/admin/users/{id}/password", can(applications.ActionManageUsers), s.handleAdminUserPassword},
		{"POST", "/admin/users/{id}/status", can(applications.ActionManageUsers), s.handleAdminUserStatus},
	}
}

func roleOptions() []ui.Option {
	var opts []ui.Option
	for _, r := range applications.AllRoles() {
		if r == applications.RoleSecurityAdmin {
			continue // not the admin's to grant (三员分立, adminMayManage)
		}
		opts = append(opts, ui.Option{Value: string(r), Label: r.Label()})
	}
	return opts
}

func (s *Server) enterpriseOptions(r *http.Request) ([]ui.Option, error) {
	es, err := s.DB.ListEnterprises(r.Context())
	if err != nil {
		return nil, err
	}
	opts := []ui.Option{{Value: "0", Label: "（不绑定）"}}
	for _, e := range es {
		opts = append(opts, ui.Option{Value: strconv.FormatInt(e.ID, 10), Label: e.Name + "（" + e.USCC + "）"})
	}
	return opts, nil
}

// platformOptions are the holding platforms the programmes name, for a
// trustee's binding.
func (s *Server) platformOptions(r *http.Request) ([]ui.Option, error) {
	ps, err := s.DB.ListHoldingPlatforms(r.Context())
	if err != nil {
		return nil, err
	}
	opts := []ui.Option{{Value: "", Label: "（不属于受托管理机构）"}}
	for _, p := range ps {
		opts = append(opts, ui.Option{Value: p.USCC, Label: p.Name + "（" + p.USCC + "）"})
	}
	return opts, nil
}

// handleAdminUsers lists users with the create form (GET /admin/users).
func (s *Server) handleAdminUsers(w http.ResponseWriter, r *http.Request) error {
	return s.renderAdminUsers(w, r, http.StatusOK, page.NewUserForm{Role: string(applications.RoleStaff)}, nil, "")
}

func (s *Server) renderAdminUsers(w http.ResponseWriter, r *http.Request, status int, form page.NewUserForm, errs ui.Errors, formErr string) error {
	users, err := s.DB.ListUsers(r.Context())
	if err != nil {
		return err
	}
	ents, err := s.enterpriseOptions(r)
	if err != nil {
		return err
	}
	plats, err := s.platformOptions(r)
	if err != nil {
		return err
	}
	return s.render(w, r, status, page.AdminUsers(page.AdminUsersView{
		Users: users, Roles: roleOptions(), Enterprises: ents, Platforms: plats, Form: form, Errors: errs, FormError: formErr,
	}))
}

// handleAdminUserCreate creates a user (POST /admin/users).
func (s *Server) handleAdminUserCreate(w http.ResponseWriter, r *http.Request) error {
	form := page.NewUserForm{
		Username:     strings.ToLower(strings.TrimSpace(r.PostFormValue("username"))),
		DisplayName:  strings.TrimSpace(r.PostFormValue("display_name")),
		Role:         r.PostFormValue("role"),
		EnterpriseID: r.PostFormValue("enterprise_id"),
		Platform:     strings.TrimSpace(r.PostFormValue("platform")),
		Email:        strings.TrimSpace(r.PostFormValue("email")),
	}
	errs := ui.Errors{}
	if form.Username == "" {
		errs["username"] = "请填写用户名。"
	}
	if form.DisplayName == "" {
		errs["display_name"] = "请填写姓名。"
	}
	role, err := applications.ParseRole(form.Role)
	if err != nil {
		errs["role"] = "请选择有效的角色。"
	}
	password := r.PostFormValue("password")
	if err := applications.ValidatePassword(password); err != nil {
		errs["password"] = applications.ErrorMessage(err)
	}
	entID, err := formID(r, "enterprise_id")
	if err != nil {
		errs["enterprise_id"] = applications.ErrorMessage(err)
	}
	if entID != 0 && role != applications.RoleEnterprise {
		errs["enterprise_id"] = "只有企业用户可以绑定企业；其他角色请选择“不绑定”。"
	}
	if role == applications.RoleSecurityAdmin {
		errs["role"] = msgNotAdminsRole
	}
	if len(errs) > 0 {
		return s.renderAdminUsers(w, r, http.StatusUnprocessableEntity, form, errs, "请按提示修改后重新提交。")
	}
	hash, err := auth.HashPassword(password, s.PasswordParams)
	if err != nil {
		return err
	}
	u, err := s.DB.CreateUser(r.Context(), actor(r), postgres.NewUser{
		Username: form.Username, DisplayName: form.DisplayName, Role: role, PasswordHash: hash, EnterpriseID: entID,
		Email: form.Email, MustChangePassword: true, Platform: form.Platform,
	})
	if e, ok := refused(err); ok {
		errs := ui.Errors{}
		addFieldError(errs, err)
		return s.renderAdminUsers(w, r, statusOf[e.Kind], form, errs, e.Message)
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/admin/users", "已创建用户 "+u.Username+"。")
}

// handleAdminUserShow shows one user's management page (GET /admin/users/{id}).
func (s *Server) handleAdminUserShow(w http.ResponseWriter, r *http.Request) error {
	return s.renderAdminUser(w, r, http.StatusOK, nil, "")
}

func (s *Server) renderAdminUser(w http.ResponseWriter, r *http.Request, status int, errs ui.Errors, formErr string) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	u, err := s.DB.FindUser(r.Context(), id)
	if err != nil {
		return err
	}
	ents, err := s.enterpriseOptions(r)
	if err != nil {
		return err
	}
	plats, err := s.platformOptions(r)
	if err != nil {
		return err
	}
	return s.render(w, r, status, page.AdminUser(page.AdminUserView{
		User: u, Roles: roleOptions(), Enterprises: ents, Platforms: plats, Errors: errs, FormError: formErr}))
}

// handleAdminUserUpdate changes role and enterprise binding
// (POST /admin/users/{id}).
func (s *Server) handleAdminUserUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	role, err := applications.ParseRole(r.PostFormValue("role"))
	if err != nil {
		return s.renderAdminUser(w, r, http.StatusUnprocessableEntity, ui.Errors{"role": "请选择有效的角色。"}, "")
	}
	entID, err := formID(r, "enterprise_id")
	if err != nil {
		return s.renderAdminUser(w, r, http.StatusUnprocessableEntity, ui.Errors{"enterprise_id": applications.ErrorMessage(err)}, "")
	}
	if entID != 0 && role != applications.RoleEnterprise {
		return s.renderAdminUser(w, r, http.StatusUnprocessableEntity,
			ui.Errors{"enterprise_id": "只有企业用户可以绑定企业；其他角色请选择“不绑定”。"}, "")
	}
	if _, err := postgres.NormalizeEmail(r.PostFormValue("email")); err != nil {
		// checked first so a bad address never leaves the role half-saved
		return s.renderAdminUser(w, r, http.StatusUnprocessableEntity, ui.Errors{"email": applications.ErrorMessage(err)}, "")
	}
	if err := s.adminMayManage(r, id); err != nil {
		return err
	}
	if role == applications.RoleSecurityAdmin {
		return s.renderAdminUser(w, r, http.StatusUnprocessableEntity, ui.Errors{"role": msgNotAdminsRole}, "")
	}
	if id == currentUser(r).ID && !role.Can(applications.ActionManageUsers) {
		return s.renderAdminUser(w, r, http.StatusUnprocessableEntity, nil, "不能取消自己的系统管理员角色，以免无人可管理账号。")
	}
	platform := strings.TrimSpace(r.PostFormValue("platform"))
	if _, err := s.DB.UpdateUser(r.Context(), actor(r), id, postgres.UserChange{Role: &role, EnterpriseID: &entID, Platform: &platform}); err != nil {
		if applications.ErrorKind(err) == applications.Invalid {
			errs := ui.Errors{}
			addFieldError(errs, err)
			return s.renderAdminUser(w, r, http.StatusUnprocessableEntity, errs, applications.ErrorMessage(err))
		}
		return err
	}
	if err := s.DB.SetUserEmail(r.Context(), actor(r), id, r.PostFormValue("email")); applications.ErrorKind(err) == applications.Invalid {
		return s.renderAdminUser(w, r, http.StatusUnprocessableEntity, ui.Errors{"email": applications.ErrorMessage(err)}, "")
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/admin/users/"+strconv.FormatInt(id, 10), "已保存。")
}

// handleAdminUserPassword resets a password (POST /admin/users/{id}/password).
func (s *Server) handleAdminUserPassword(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.adminMayManage(r, id); err != nil {
		return err
	}
	password := r.PostFormValue("password")
	if err := applications.ValidatePassword(password); err != nil {
		return s.renderAdminUser(w, r, http.StatusUnprocessableEntity, ui.Errors{"password": applications.ErrorMessage(err)}, "")
	}
	hash, err := auth.HashPassword(password, s.PasswordParams)
	if err != nil {
		return err
	}
	if _, err := s.DB.UpdateUser(r.Context(), actor(r), id, postgres.UserChange{PasswordHash: &hash}); err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/admin/users/"+strconv.FormatInt(id, 10), "密码已重置，该用户须用新密码重新登录，并在登录后先修改密码。账号如被锁定，须由安全管理员解锁。")
}

// handleAdminUserStatus disables or enables a user
// (POST /admin/users/{id}/status).
func (s *Server) handleAdminUserStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.adminMayManage(r, id); err != nil {
		return err
	}
	disabled := r.PostFormValue("disabled") == "true"
	if disabled && id == currentUser(r).ID {
		return s.renderAdminUser(w, r, http.StatusUnprocessableEntity, nil, "不能停用自己的账号。")
	}
	if _, err := s.DB.UpdateUser(r.Context(), actor(r), id, postgres.UserChange{Disabled: &disabled}); err != nil {
		return err
	}
	msg := "已启用该用户。"
	if disabled {
		msg = "已停用该用户，其登录会话已全部失效。"
	}
	return s.redirectWithFlash(w, r, "/admin/users/"+strconv.FormatInt(id, 10), msg)
}

// msgNotAdminsRole: the admin manages users but does not appoint the
// security admin (三员分立, issue 16): that account is made from the
// command line (`server adduser USER security_admin NAME`).
const msgNotAdminsRole = "安全管理员账号不能由系统管理员设置，须在服务器上用命令行创建（server adduser 用户名 security_admin 姓名）。"

// adminMayManage refuses the admin's changes to a security admin's
// account (role, password, status): otherwise the admin could take over
// the security admin's duties by resetting their password.
func (s *Server) adminMayManage(r *http.Request, id int64) error {
	u, err := s.DB.FindUser(r.Context(), id)
	if err != nil {
		return err
	}
	if u.Role == applications.RoleSecurityAdmin {
		return applications.Errorf(applications.Forbidden, "系统管理员不能修改安全管理员的账号（三员分立）。")
	}
	return nil
}

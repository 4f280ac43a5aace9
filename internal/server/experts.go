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

// expertRoutes: the expert pool.
func (s *Server) expertRoutes() []route {
	return []route{
		{"GET", "/experts", can(applications.ActionManageExperts).inMenu(navExperts, "专家库"), s.handleExperts},
		{"POST", "/experts", can(applications.ActionManageExperts), s.handleExpertCreate},
		{"GET", "/experts/{id}", can(applications.ActionManageExperts), s.handleExpertEdit},
		{"POST", "/experts/{id}", can(applications.ActionManageExperts), s.handleExpertUpdate},
	}
}

func expertForm(e postgres.Expert) map[string]string {
	f := map[string]string{"employer": e.Employer, "employer_uscc": e.EmployerUSCC}
	if e.Active {
		f["active"] = "1"
	}
	for _, s := range e.Sectors {
		f["sector_"+string(s)] = "1"
	}
	for _, t := range e.Ties {
		f["tie_"+strconv.FormatInt(t, 10)] = "1"
	}
	return f
}

func parseExpertProfile(r *http.Request) (postgres.ExpertProfile, map[string]string) {
	_ = r.ParseForm()
	p := postgres.ExpertProfile{Employer: strings.TrimSpace(r.PostFormValue("employer")),
		EmployerUSCC: r.PostFormValue("employer_uscc"), Active: r.PostFormValue("active") == "1"}
	f := map[string]string{"employer": p.Employer, "employer_uscc": p.EmployerUSCC,
		"username":     strings.ToLower(strings.TrimSpace(r.PostFormValue("username"))),
		"display_name": strings.TrimSpace(r.PostFormValue("display_name"))}
	if p.Active {
		f["active"] = "1"
	}
	for _, v := range r.PostForm["sectors"] {
		p.Sectors = append(p.Sectors, applications.Sector(v))
		f["sector_"+v] = "1"
	}
	for _, v := range r.PostForm["ties"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			p.Ties = append(p.Ties, id)
			f["tie_"+v] = "1"
		}
	}
	return p, f
}

// handleExperts lists the expert pool (GET /experts).
func (s *Server) handleExperts(w http.ResponseWriter, r *http.Request) error {
	return s.renderExperts(w, r, http.StatusOK, map[string]string{}, nil, "")
}

func (s *Server) renderExperts(w http.ResponseWriter, r *http.Request, status int, form map[string]string, errs ui.Errors, msg string) error {
	es, err := s.DB.ListExperts(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, r, status, page.Experts(page.ExpertsView{Experts: es, Form: form, Errors: errs, FormError: msg}))
}

// handleExpertCreate adds an expert account with its profile (POST /experts).
func (s *Server) handleExpertCreate(w http.ResponseWriter, r *http.Request) error {
	p, form := parseExpertProfile(r)
	p.Active = true
	errs := ui.Errors{}
	password := r.PostFormValue("password")
	if err := applications.ValidatePassword(password); err != nil {
		errs["password"] = applications.ErrorMessage(err)
	}
	if form["username"] == "" || form["display_name"] == "" {
		errs["username"] = "请填写用户名和姓名。"
	}
	if len(errs) > 0 {
		return s.renderExperts(w, r, http.StatusUnprocessableEntity, form, errs, "请按提示修改后重新提交。")
	}
	hash, err := auth.HashPassword(password, s.PasswordParams)
	if err != nil {
		return err
	}
	u, err := s.DB.CreateUser(r.Context(), actor(r), postgres.NewUser{Username: form["username"], DisplayName: form["display_name"],
		Role: applications.RoleExpert, PasswordHash: hash})
	if err == nil {
		err = s.DB.SaveExpertProfile(r.Context(), actor(r), u.ID, p)
		if err != nil {
			// The account exists without a usable profile: disable it so it
			// is never drawn, and say what to do.
			disabled := true
			_, _ = s.DB.UpdateUser(r.Context(), actor(r), u.ID, postgres.UserChange{Disabled: &disabled})
		}
	}
	if e, ok := refused(err); ok {
		addFieldError(errs, err)
		return s.renderExperts(w, r, statusOf[e.Kind], form, errs, e.Message)
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/experts", "已添加专家 "+form["display_name"]+"。")
}

// handleExpertEdit shows one expert (GET /experts/{id}).
func (s *Server) handleExpertEdit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	e, err := s.DB.FindExpert(r.Context(), id)
	if err != nil {
		return err
	}
	return s.renderExpertEdit(w, r, http.StatusOK, e, expertForm(e), nil)
}

func (s *Server) renderExpertEdit(w http.ResponseWriter, r *http.Request, status int, e postgres.Expert, form map[string]string, errs ui.Errors) error {
	ents, err := s.DB.ListEnterprises(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, r, status, page.ExpertEdit(page.ExpertView{Expert: e, Form: form, Enterprises: ents, Errors: errs}))
}

// handleExpertUpdate saves a profile, including deactivation and declared
// ties (POST /experts/{id}).
func (s *Server) handleExpertUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	e, err := s.DB.FindExpert(r.Context(), id)
	if err != nil {
		return err
	}
	p, form := parseExpertProfile(r)
	if err := s.DB.SaveExpertProfile(r.Context(), actor(r), id, p); applications.ErrorKind(err) == applications.Invalid {
		errs := ui.Errors{}
		addFieldError(errs, err)
		return s.renderExpertEdit(w, r, http.StatusUnprocessableEntity, e, form, errs)
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/experts", "已保存专家信息。")
}

package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/internal/postgres"
	"ite/web/page"
	"ite/web/ui"
)

// The security admin's pages (issue 16, 三员分立): the security policy,
// unlocking accounts and resetting second factors, the security events.
// No other role reaches them, and the security admin reaches no business
// page.

const securityAdmin = applications.RoleSecurityAdmin

// securityRoutes: the security admin's pages.
func (s *Server) securityRoutes() []route {
	return []route{
		{"GET", "/security", can(applications.ActionManageSecurityPolicy).inMenu(navSecurity, "安全策略"), s.handleSecurityPolicy},
		{"POST", "/security/policy", can(applications.ActionManageSecurityPolicy), s.handleSecurityPolicySave},
		{"GET", "/security/accounts", can(applications.ActionUnlockAccount).inMenu(navSecurityAccounts, "账号安全"), s.handleSecurityAccounts},
		{"POST", "/security/accounts/{id}/unlock", can(applications.ActionUnlockAccount), s.handleAccountUnlock},
		{"POST", "/security/accounts/{id}/second-factor/reset", can(applications.ActionResetSecondFactor), s.handleSecondFactorReset},
		{"GET", "/security/events", can(applications.ActionReadSecurityEvents).inMenu(navSecurityEvents, "安全事件"), s.handleSecurityEvents},
	}
}

func policyForm(p auth.Policy) page.SecurityPolicyForm {
	return page.SecurityPolicyForm{
		PasswordMinLength:      strconv.Itoa(p.PasswordMinLength),
		PasswordMaxAgeDays:     strconv.Itoa(int(p.PasswordMaxAge / (24 * time.Hour))),
		PasswordHistory:        strconv.Itoa(p.PasswordHistory),
		SecondFactorForAll:     p.SecondFactorForAll,
		IdleTimeoutMinutes:     strconv.Itoa(int(p.IdleTimeout / time.Minute)),
		AbsoluteTimeoutMinutes: strconv.Itoa(int(p.AbsoluteLifetime / time.Minute)),
	}
}

// handleSecurityPolicy shows the policy form (GET /security).
func (s *Server) handleSecurityPolicy(w http.ResponseWriter, r *http.Request) error {
	p, err := s.DB.SecurityPolicy(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.SecurityPolicy(page.SecurityPolicyView{Form: policyForm(p)}))
}

// handleSecurityPolicySave saves the policy (POST /security/policy).
func (s *Server) handleSecurityPolicySave(w http.ResponseWriter, r *http.Request) error {
	form := page.SecurityPolicyForm{
		PasswordMinLength:      strings.TrimSpace(r.PostFormValue("password_min_length")),
		PasswordMaxAgeDays:     strings.TrimSpace(r.PostFormValue("password_max_age_days")),
		PasswordHistory:        strings.TrimSpace(r.PostFormValue("password_history")),
		SecondFactorForAll:     r.PostFormValue("second_factor_for_all") == "true",
		IdleTimeoutMinutes:     strings.TrimSpace(r.PostFormValue("idle_timeout_minutes")),
		AbsoluteTimeoutMinutes: strings.TrimSpace(r.PostFormValue("absolute_timeout_minutes")),
	}
	errs := ui.Errors{}
	num := func(name, v string) int {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs[name] = "请填写整数。"
		}
		return n
	}
	p := auth.Policy{
		PasswordMinLength:  num("password_min_length", form.PasswordMinLength),
		PasswordMaxAge:     time.Duration(num("password_max_age_days", form.PasswordMaxAgeDays)) * 24 * time.Hour,
		PasswordHistory:    num("password_history", form.PasswordHistory),
		SecondFactorForAll: form.SecondFactorForAll,
		IdleTimeout:        time.Duration(num("idle_timeout_minutes", form.IdleTimeoutMinutes)) * time.Minute,
		AbsoluteLifetime:   time.Duration(num("absolute_timeout_minutes", form.AbsoluteTimeoutMinutes)) * time.Minute,
	}
	if len(errs) == 0 {
		err := s.DB.SetSecurityPolicy(r.Context(), actor(r), p)
		if e, ok := refused(err); ok {
			addFieldError(errs, err)
			return s.render(w, r, statusOf[e.Kind], page.SecurityPolicy(page.SecurityPolicyView{Form: form, Errors: errs, FormError: e.Message}))
		} else if err != nil {
			return err
		}
		return s.redirectWithFlash(w, r, "/security", "安全策略已保存。")
	}
	return s.render(w, r, http.StatusUnprocessableEntity, page.SecurityPolicy(page.SecurityPolicyView{Form: form, Errors: errs,
		FormError: "请按提示修改后重新提交。"}))
}

// handleSecurityAccounts lists accounts with their lock and second factor
// (GET /security/accounts).
func (s *Server) handleSecurityAccounts(w http.ResponseWriter, r *http.Request) error {
	as, err := s.DB.ListAccountSecurity(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.SecurityAccounts(page.SecurityAccountsView{Accounts: as, Now: s.Now().Unix()}))
}

// handleAccountUnlock ends a lockout (POST /security/accounts/{id}/unlock).
func (s *Server) handleAccountUnlock(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.DB.UnlockAccount(r.Context(), actor(r), id); err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/security/accounts", "已解锁该账号。")
}

// handleSecondFactorReset removes a user's second factor and ends their
// sessions; they are told in their inbox
// (POST /security/accounts/{id}/second-factor/reset).
func (s *Server) handleSecondFactorReset(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if id == currentUser(r).ID {
		return applications.Errorf(applications.Invalid, "不能重置自己的双因素认证，请由另一位安全管理员操作。")
	}
	if err := s.DB.ResetSecondFactor(r.Context(), actor(r), id); err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/security/accounts", "已重置该用户的双因素认证，其登录会话已全部结束，并已通知本人。")
}

// handleSecurityEvents shows the security part of the audit log
// (GET /security/events).
func (s *Server) handleSecurityEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := postgres.SecurityEventFilter{Event: q.Get("event"), Outcome: q.Get("outcome")}
	if b, err := strconv.ParseInt(q.Get("before"), 10, 64); err == nil {
		f.BeforeSeq = b
	}
	f.Limit = 100
	recs, err := s.DB.ListSecurityEvents(r.Context(), f)
	if err != nil {
		return err
	}
	v := page.SecurityEventsView{Records: recs, Event: f.Event, Outcome: f.Outcome,
		Events: []ui.Option{{Value: "", Label: "全部"}}}
	for _, e := range postgres.SecurityEventNames() {
		v.Events = append(v.Events, ui.Option{Value: e, Label: audit.EventLabel(e)})
	}
	if len(recs) == f.Limit {
		v.NextSeq = recs[len(recs)-1].Seq
	}
	return s.render(w, r, http.StatusOK, page.SecurityEvents(v))
}

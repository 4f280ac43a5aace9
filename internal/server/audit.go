package server

import (
	"errors"
	"net/http"
	"strconv"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/postgres"
	"ite/web/page"
)

// auditRoutes: the audit log and its chain check.
func (s *Server) auditRoutes() []route {
	return []route{
		{"GET", "/audit", can(applications.ActionReadAuditLog).inMenu(navAudit, "审计日志"), s.handleAuditLog},
		{"GET", "/audit/verify", can(applications.ActionVerifyIntegrity).inMenu(navAuditVerify, "链校验").menuFor(auditor), s.handleAuditVerify},
	}
}

const auditPageSize = 100

// handleAuditLog shows the audit log newest first, with keyset paging
// (GET /audit).
func (s *Server) handleAuditLog(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	f := postgres.AuditFilter{Event: q.Get("event"), BeforeSeq: max(before, 0), Limit: auditPageSize}
	recs, err := s.DB.ListAudit(r.Context(), f)
	if err != nil {
		return err
	}
	v := page.AuditLogView{Records: recs, Event: f.Event}
	if len(recs) == auditPageSize {
		v.NextSeq = recs[len(recs)-1].Seq
	}
	return s.render(w, r, http.StatusOK, page.AuditLog(v))
}

// handleAuditVerify checks the whole audit chain (GET /audit/verify).
func (s *Server) handleAuditVerify(w http.ResponseWriter, r *http.Request) error {
	n, err := s.DB.VerifyAudit(r.Context())
	v := page.AuditVerifyView{Checked: n, OK: err == nil}
	var ce *audit.ChainError
	if errors.As(err, &ce) {
		v.Problem = ce.Error()
	} else if err != nil {
		return err
	}
	s.audit(r, audit.Event{Name: "audit_verify", Outcome: audit.Success,
		Detail: map[string]any{"checked": n, "ok": v.OK}})
	if v.Anchor, err = s.anchorPanel(r, "audit"); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.AuditVerify(v))
}

package server

import (
	"net/http"

	"ite/internal/applications"
	"ite/web/page"
)

// Verified enterprises (issue 16.4): staff check a self-registered
// enterprise's licence copy against its 统一社会信用代码, name and legal
// representative before it may submit, or refuse with a reason the
// enterprise sees.

// verificationRoutes: staff's enterprise verification.
func (s *Server) verificationRoutes() []route {
	return []route{
		{"GET", "/enterprises/verification", can(applications.ActionVerifyEnterprise).inMenu(navVerification, "企业核验"), s.handleVerifications},
		{"POST", "/enterprises/{id}/verification", can(applications.ActionVerifyEnterprise), s.handleVerify},
	}
}

// handleVerifications lists the enterprises awaiting verification (and
// those refused) with their licence copies (GET /enterprises/verification).
func (s *Server) handleVerifications(w http.ResponseWriter, r *http.Request) error {
	return s.renderVerifications(w, r, http.StatusOK, 0, "")
}

func (s *Server) renderVerifications(w http.ResponseWriter, r *http.Request, status int, errID int64, msg string) error {
	vs, err := s.DB.ListEnterpriseVerifications(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, r, status, page.Verifications(page.VerificationsView{Enterprises: vs, ErrorID: errID, Error: msg}))
}

// handleVerify records the decision (POST /enterprises/{id}/verification).
func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	verify := r.PostFormValue("decision") == "verify"
	err = s.DB.VerifyEnterprise(r.Context(), actor(r), id, verify, r.PostFormValue("reason"))
	if applications.ErrorKind(err) == applications.Invalid {
		return s.renderVerifications(w, r, http.StatusUnprocessableEntity, id, applications.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	msg := "已核验通过，该企业现在可以提交申报。"
	if !verify {
		msg = "已不予通过，企业将在消息中看到原因。"
	}
	return s.redirectWithFlash(w, r, "/enterprises/verification", msg)
}

package server

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"ite/internal/applications"
	"ite/internal/blob"
	"ite/internal/day"
	"ite/web/page"
	"ite/web/ui"
)

// agreementRoutes: the investment agreement and its signing.
func (s *Server) agreementRoutes() []route {
	return []route{
		{"GET", "/applications/{id}/agreement", can(applications.ActionReadApplications), s.handleAgreement},
		{"POST", "/applications/{id}/agreement/sign", can(applications.ActionSignAgreement), s.handleAgreementSign},
	}
}

// handleAgreement shows the agreement terms (GET /applications/{id}/agreement).
func (s *Server) handleAgreement(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	return s.renderAgreement(w, r, http.StatusOK, a, nil, "")
}

func (s *Server) renderAgreement(w http.ResponseWriter, r *http.Request, status int, a applications.Application, errs ui.Errors, msg string) error {
	if err := s.sweepDue(r, &s.notices); err != nil {
		return err
	}
	a, err := s.DB.FindApplication(r.Context(), a.ID)
	if err != nil {
		return err
	}
	versions, err := s.DB.ListAgreements(r.Context(), a.ID)
	if err != nil {
		return err
	}
	if len(versions) == 0 {
		return applications.Errorf(applications.NotFound, "该项目尚无协议条款（立项决定批准后生成）。")
	}
	p, err := s.DB.FindProgramme(r.Context(), a.ProgrammeID)
	if err != nil {
		return err
	}
	u := currentUser(r)
	v := page.AgreementView{App: a, Versions: versions, Platform: p.HoldingPlatform, Errors: errs, FormError: msg,
		MaxUploadMiB: s.maxUpload() >> 20}
	for i := range versions {
		if versions[i].Status == applications.AgreementSigned {
			v.Current = &versions[i]
		}
	}
	if v.Current == nil {
		v.Current = &versions[len(versions)-1] // the draft frozen at approval (version 1)
		for i := range versions {
			if versions[i].Status == applications.AgreementDraft {
				v.Current = &versions[i]
			}
		}
	}
	v.CanSign = u.Role.Can(applications.ActionSignAgreement) && a.State == applications.StateApproved && !a.NoticeClosedAt.IsZero()
	v.CanPropose = u.Role.Can(applications.ActionProposeTerms) && v.Current.Status == applications.AgreementSigned && !a.State.Terminal()
	v.CanApprove = u.Role.Can(applications.ActionApproveTerms)
	return s.render(w, r, status, page.Agreement(v))
}

// handleAgreementSign uploads the signed agreement and contracts the
// project (POST /applications/{id}/agreement/sign, multipart).
func (s *Server) handleAgreementSign(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxUpload()+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return s.renderAgreement(w, r, http.StatusUnprocessableEntity, a, nil, "上传格式不正确，请通过页面表单提交。")
	}
	var signedOn time.Time
	for {
		part, err := mr.NextPart()
		if err != nil {
			return s.renderAgreement(w, r, http.StatusUnprocessableEntity, a, nil, "没有收到协议文件，请选择文件后重新提交。")
		}
		if part.FormName() == "signed_on" {
			b := make([]byte, 32)
			n, _ := part.Read(b)
			r.PostForm = url.Values{"signed_on": {strings.TrimSpace(string(b[:n]))}} // for a refusal's page (keepTyped)
			if signedOn, err = day.Parse(strings.TrimSpace(string(b[:n]))); err != nil {
				return s.renderAgreement(w, r, http.StatusUnprocessableEntity, a, nil, "请填写签署日期（年-月-日）。")
			}
			continue
		}
		if part.FormName() != "file" {
			continue
		}
		if signedOn.IsZero() {
			return s.renderAgreement(w, r, http.StatusUnprocessableEntity, a, nil, "请填写签署日期。")
		}
		key := blob.NewKey("docs", s.Now())
		meta, err := blob.Ingest(r.Context(), s.Blobs, key, part, blob.IngestOptions{MaxBytes: s.maxUpload()})
		if err != nil {
			if applications.ErrorKind(err) == applications.Internal {
				return err
			}
			return s.renderAgreement(w, r, statusOf[applications.ErrorKind(err)], a, nil, applications.ErrorMessage(err))
		}
		d := applications.Document{Filename: displayName(part.FileName()), BlobKey: key, Kind: meta.Kind, Size: meta.Size,
			SHA256: meta.SHA256, EncAlg: meta.Algorithm}
		if err := s.DB.SignAgreement(r.Context(), actor(r), a.ID, signedOn, d); err != nil {
			_ = s.Blobs.Delete(r.Context(), key)
			if e, ok := refused(err); ok {
				return s.renderAgreement(w, r, statusOf[e.Kind], a, nil, e.Message)
			}
			return err
		}
		return s.redirectWithFlash(w, r, applicationPath(a.ID, ""), "协议已签署，项目进入拨付阶段。")
	}
}

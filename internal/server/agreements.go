package server

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"ite/internal/applications"
	"ite/internal/blob"
	"ite/internal/day"
	"ite/internal/postgres"
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
	v, err := s.agreementView(r, a, errs, msg)
	if err != nil {
		return err
	}
	return s.render(w, r, status, page.Agreement(v))
}

// agreementView is the agreement page's view; its terms form shows the
// terms in force (a refused proposal replaces it with what was typed).
func (s *Server) agreementView(r *http.Request, a applications.Application, errs ui.Errors, msg string) (page.AgreementView, error) {
	if err := s.sweepDue(r, &s.notices); err != nil {
		return page.AgreementView{}, err
	}
	a, err := s.DB.FindApplication(r.Context(), a.ID)
	if err != nil {
		return page.AgreementView{}, err
	}
	versions, err := s.DB.ListAgreements(r.Context(), a.ID)
	if err != nil {
		return page.AgreementView{}, err
	}
	if len(versions) == 0 {
		return page.AgreementView{}, applications.Errorf(applications.NotFound, "该项目尚无协议条款（立项决定批准后生成）。")
	}
	p, err := s.DB.FindProgramme(r.Context(), a.ProgrammeID)
	if err != nil {
		return page.AgreementView{}, err
	}
	u := currentUser(r)
	v := page.AgreementView{App: a, Versions: versions, Platform: p.HoldingPlatform, Errors: errs, FormError: msg,
		MaxUploadMiB: s.maxUpload() >> 20, CanEditTemplate: u.Role.Can(applications.ActionReadProgrammes)}
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
	if v.Doc, err = s.agreementDocument(r, a, p, v.Current); err != nil {
		return page.AgreementView{}, err
	}
	if v.Printouts, err = s.printLinks(r, a); err != nil {
		return page.AgreementView{}, err
	}
	v.CanSign = u.Role.Can(applications.ActionSignAgreement) && a.State == applications.StateApproved && !a.NoticeClosedAt.IsZero()
	v.CanPropose = u.Role.Can(applications.ActionProposeTerms) && v.Current.Status == applications.AgreementSigned && !a.State.Terminal()
	v.CanApprove = u.Role.Can(applications.ActionApproveTerms)
	v.TermsForm = applications.TermsFormOf(v.Current.Terms)
	return v, nil
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
		if g, err := s.DB.SignedAgreement(r.Context(), a.ID); err == nil {
			if _, err := s.freezeAgreement(r, a, g); err != nil {
				return err
			}
		}
		return s.redirectWithFlash(w, r, applicationPath(a.ID, ""), "协议已签署，项目进入拨付阶段。")
	}
}

// agreementDocument is the text of agreement version g: the one frozen with
// it once signed (generated and stored on first sight for a version signed
// before texts were stored), else generated from the programme's template
// in force (a draft, still to be signed).
func (s *Server) agreementDocument(r *http.Request, a applications.Application, p applications.Programme, g *postgres.Agreement) (applications.AgreementDocument, error) {
	if d, ok := page.StoredAgreement(g.Document); ok {
		return d, nil
	}
	if g.Status != applications.AgreementDraft {
		return s.freezeAgreement(r, a, *g)
	}
	facts, err := s.agreementFacts(r, a, p, *g)
	if err != nil {
		return applications.AgreementDocument{}, err
	}
	return page.BuildAgreement(facts), nil
}

// freezeAgreement generates and stores the text of a signed version (once:
// a version already holding its text keeps it) and returns the stored text.
func (s *Server) freezeAgreement(r *http.Request, a applications.Application, g postgres.Agreement) (applications.AgreementDocument, error) {
	if d, ok := page.StoredAgreement(g.Document); ok {
		return d, nil
	}
	p, err := s.DB.FindProgramme(r.Context(), a.ProgrammeID)
	if err != nil {
		return applications.AgreementDocument{}, err
	}
	facts, err := s.agreementFacts(r, a, p, g)
	if err != nil {
		return applications.AgreementDocument{}, err
	}
	d := page.BuildAgreement(facts)
	stored, err := s.DB.FreezeAgreementDocument(r.Context(), g.ID, facts.Template.ID, page.AgreementJSON(d))
	if err != nil || stored {
		return d, err
	}
	// Someone else froze it first: theirs is the record.
	versions, err := s.DB.ListAgreements(r.Context(), a.ID)
	if err != nil {
		return d, err
	}
	for _, v := range versions {
		if v.ID == g.ID {
			if sd, ok := page.StoredAgreement(v.Document); ok {
				return sd, nil
			}
		}
	}
	return d, nil
}

func (s *Server) agreementFacts(r *http.Request, a applications.Application, p applications.Programme, g postgres.Agreement) (page.AgreementFacts, error) {
	ent, err := s.DB.FindEnterprise(r.Context(), a.EnterpriseID)
	if err != nil {
		return page.AgreementFacts{}, err
	}
	tpl, err := s.DB.CurrentAgreementTemplate(r.Context(), a.ProgrammeID)
	if err != nil {
		return page.AgreementFacts{}, err
	}
	number, err := s.DB.AgreementNumber(r.Context(), a.ID)
	if err != nil {
		return page.AgreementFacts{}, err
	}
	return page.AgreementFacts{App: a, LegalRep: ent.LegalRep, Programme: p, Template: tpl, Agreement: g, Number: number}, nil
}

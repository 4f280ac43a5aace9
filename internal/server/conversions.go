package server

import (
	"encoding/json"
	"net/http"

	"ite/internal/applications"
	"ite/internal/conversion"
	"ite/internal/day"
	"ite/internal/postgres"
	"ite/web/page"
)

// conversionRoutes: conversion of the grant into equity, its registration
// and certificate.
func (s *Server) conversionRoutes() []route {
	return []route{
		{"POST", "/applications/{id}/conversion", can(applications.ActionPrepareConversion), s.handleConversionPrepare},
		{"POST", "/conversions/{id}/approve", can(applications.ActionApproveEquityProposal), s.handleConversionApprove},
		{"POST", "/conversions/{id}/registration", can(applications.ActionRecordRegistration), s.handleRegistration},
		{"GET", "/conversions/{id}/certificate", can(applications.ActionReadApplications), s.handleCertificate},
		{"GET", "/conversions/{id}/verify", can(applications.ActionReadApplications), s.handleCertificateVerify},
	}
}

// handleConversionPrepare submits the conversion for approval
// (POST /applications/{id}/conversion).
func (s *Server) handleConversionPrepare(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	if _, err := s.DB.PrepareConversion(r.Context(), actor(r), a.ID, typedAmount(r.PostFormValue("appraised")), r.PostFormValue("idempotency_key")); err != nil {
		return s.equityRefuse(w, r, a.ID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "/equity"), "转股已提交审批人审批。")
}

// handleConversionApprove (POST /conversions/{id}/approve).
func (s *Server) handleConversionApprove(w http.ResponseWriter, r *http.Request) error {
	return s.approveProposal(w, r, "conversions", s.DB.ApproveConversion, said("转股已批准并记账（借 1511 长期股权投资 / 贷 1221 先投资金），项目进入持股中。"+
		"下一步：受托管理机构与企业凭转股测算单办理工商变更登记，经办人登记工商变更日期并上传变更登记材料；"+
		"股权由受托管理机构持有，之后按退出计划办理退出。"))
}

// handleRegistration records the 工商变更 date (POST /conversions/{id}/registration).
func (s *Server) handleRegistration(w http.ResponseWriter, r *http.Request) error {
	id, appID, err := s.parentApp(r, "conversions")
	if err != nil {
		return err
	}
	form, doc, drop, err := s.formWithEvidence(w, r)
	if err != nil {
		return s.equityRefuse(w, r, appID, err)
	}
	d, perr := day.Parse(form.Get("registration_date"))
	if perr != nil {
		drop()
		return s.equityRefuse(w, r, appID, applications.FieldError("registration_date", "请填写工商变更日期。"))
	}
	if err := s.DB.RecordRegistration(r.Context(), actor(r), id, d, doc); err != nil {
		drop()
		return s.equityRefuse(w, r, appID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(appID, "/equity"), "已登记工商变更。")
}

// handleCertificate is the printable conversion certificate
// (GET /conversions/{id}/certificate).
func (s *Server) handleCertificate(w http.ResponseWriter, r *http.Request) error {
	c, a, err := s.loadConversion(r)
	if err != nil {
		return err
	}
	p, err := s.DB.FindProgramme(r.Context(), a.ProgrammeID)
	if err != nil {
		return err
	}
	v := page.CertificateView{App: a, Conversion: c, Platform: p.HoldingPlatform, DigestName: "SHA-256"}
	// The exits from this holding, each with the rate its stored request used.
	xs, err := s.DB.ListExits(r.Context(), a.ID)
	if err != nil {
		return err
	}
	for _, x := range xs {
		if x.Status == applications.ExitRejected {
			continue
		}
		rec, err := exitRecord(a, x)
		if err != nil {
			return err
		}
		v.Exits = append(v.Exits, page.CertificateExit{Exit: x, Note: page.ExitNote{Rate: rec.Tranche.Rate,
			Basis: applications.RateBasisLabel(rec.Tranche.RateBasis), Source: rec.RateSource, Explain: rec.Explain}})
	}
	return s.render(w, r, http.StatusOK, page.Certificate(v))
}

// loadConversion reads the conversion of the {id} parameter and its
// application, if the user may see it. Errors: NotFound, Forbidden.
func (s *Server) loadConversion(r *http.Request) (postgres.Conversion, applications.Application, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return postgres.Conversion{}, applications.Application{}, err
	}
	c, err := s.DB.FindConversion(r.Context(), id)
	if err != nil {
		return c, applications.Application{}, err
	}
	a, err := s.DB.FindApplication(r.Context(), c.ApplicationID)
	if err != nil {
		return c, a, err
	}
	return c, a, s.checkApplicationAccess(r, a)
}

// handleCertificateVerify recomputes a conversion certificate from its
// stored request and compares it with the stored result and digest
// (GET /conversions/{id}/verify, the link printed on the certificate).
func (s *Server) handleCertificateVerify(w http.ResponseWriter, r *http.Request) error {
	c, a, err := s.loadConversion(r)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.CertificateCheck(checkCertificate(a, c)))
}

// checkCertificate recomputes c from its stored request text.
func checkCertificate(a applications.Application, c postgres.Conversion) page.CertificateCheckView {
	v := page.CertificateCheckView{App: a, Conversion: c, DigestOK: postgres.Digest(c.RequestText, c.ResultText) == c.Digest}
	var stored conversion.ConvertResult
	if err := json.Unmarshal([]byte(c.ResultText), &stored); err != nil {
		v.Err = "存档的测算结果无法读取"
		return v
	}
	var req conversion.ConvertRequest
	var got conversion.ConvertResult
	if err := json.Unmarshal([]byte(c.RequestText), &req); err != nil {
		v.Err = "存档的测算输入无法读取"
	} else if got, err = conversion.Convert(req); err != nil {
		v.Err = "测算引擎拒绝了存档的输入"
	}
	ref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	for _, f := range []struct{ label, stored, got string }{
		{"转股金额（元）", stored.ConversionAmount, got.ConversionAmount},
		{"参考价格（元/单位）", ref(stored.ReferencePrice), ref(got.ReferencePrice)},
		{"转股价格（元/单位）", stored.ConversionPrice, got.ConversionPrice},
		{"价格依据", page.BasisName(stored.PriceBasis), page.BasisName(got.PriceBasis)},
		{"平台取得（单位）", stored.Units, got.Units},
		{"计入注册资本/股本（元）", stored.ToRegisteredCapital, got.ToRegisteredCapital},
		{"计入资本公积（元）", stored.ToCapitalReserve, got.ToCapitalReserve},
		{"投后总单位", stored.PostMoneyUnits, got.PostMoneyUnits},
		{"平台持股比例", stored.Stake, got.Stake},
	} {
		v.Rows = append(v.Rows, page.CertificateCheckRow{Label: f.label, Stored: f.stored, Recomputed: f.got})
	}
	return v
}

package server

import (
	"net/http"
	"strings"

	"ite/internal/applications"
	"ite/internal/day"
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
	}
}

// handleConversionPrepare submits the conversion for approval
// (POST /applications/{id}/conversion).
func (s *Server) handleConversionPrepare(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	if _, err := s.DB.PrepareConversion(r.Context(), actor(r), a.ID, strings.TrimSpace(r.PostFormValue("appraised")), r.PostFormValue("idempotency_key")); err != nil {
		return s.equityRefuse(w, r, a.ID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "/equity"), "转股已提交审批人审批。")
}

// handleConversionApprove (POST /conversions/{id}/approve).
func (s *Server) handleConversionApprove(w http.ResponseWriter, r *http.Request) error {
	return s.approveProposal(w, r, "conversions", s.DB.ApproveConversion, "转股已批准并记账。")
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
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.DB.FindConversion(r.Context(), id)
	if err != nil {
		return err
	}
	a, err := s.DB.FindApplication(r.Context(), c.ApplicationID)
	if err != nil {
		return err
	}
	if err := s.checkApplicationAccess(r, a); err != nil {
		return err
	}
	p, err := s.DB.FindProgramme(r.Context(), a.ProgrammeID)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.Certificate(page.CertificateView{App: a, Conversion: c, Platform: p.HoldingPlatform}))
}

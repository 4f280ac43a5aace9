package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"ite/internal/applications"
	"ite/internal/conversion"
)

// calcRoutes: the calculator of DOMAIN §14 as a JSON API for any signed-in
// user, and the simulator page built on it (simulator.go). The simulator is
// for the roles that negotiate, approve or check conversion terms:
// enterprises, staff, approvers and auditors. Experts score applications
// before any terms exist and administrators run the system, so neither has
// it in their menu or may open it.
func (s *Server) calcRoutes() []route {
	return []route{
		{"POST", "/api/v1/calc", can(applications.ActionCalculate), s.handleCalc},
		{"GET", "/simulator", simulatorAccess, s.handleSimulator},
		{"GET", "/simulator/result", simulatorAccess, s.handleSimulatorResult},
	}
}

// handleCalc is the calculator API (POST /api/v1/calc). The body is one
// JSON request of DOMAIN §14 ("kind": "conversion" or "exit"), at most
// 1 MiB; the answer is 200 with the result JSON, exactly what `server calc`
// prints, or 422 with {"error": "<中文>", "field": "<JSON path>"} when the
// calculator refuses the input (413 with the same shape when the body is too
// large). Bad input never yields a 500.
//
// Like every POST it passes the CSRF middleware: a JSON body has no form
// field to carry the token, so callers send the session's token (the
// content of <meta name="csrf-token"> on any page) in the X-CSRF-Token
// header; without it the request is refused with 403 before it gets here.
// Signing in is required (401 otherwise); the role does not matter, the
// calculator reads and stores nothing.
func (s *Server) handleCalc(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, conversion.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return writeCalcError(w, http.StatusRequestEntityTooLarge, &conversion.InputError{
				Message: fmt.Sprintf("请求过大：不能超过 %d MB，请精简后重试。", conversion.MaxBodyBytes>>20)})
		}
		return writeCalcError(w, http.StatusBadRequest, &conversion.InputError{Message: "无法读取请求内容，请重试。"})
	}
	out, err := conversion.Calculate(body)
	if err != nil {
		var ie *conversion.InputError
		if errors.As(err, &ie) {
			return writeCalcError(w, http.StatusUnprocessableEntity, ie)
		}
		return err // not the caller's input: a logged 500
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(append(out, '\n'))
	return err
}

// writeCalcError sends the calculator's error object, {"error", "field"}.
func writeCalcError(w http.ResponseWriter, status int, ie *conversion.InputError) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	b, _ := json.Marshal(ie) // two strings: cannot fail
	_, err := w.Write(append(b, '\n'))
	return err
}

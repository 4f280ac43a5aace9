package server

import (
	"net/http"
	"strconv"
	"strings"

	"ite/internal/applications"
	"ite/web/page"
	"ite/web/ui"
)

// rateRoutes: the reference-rate table (DOMAIN §17), read by the bureau and
// kept by the admin.
func (s *Server) rateRoutes() []route {
	return []route{
		{"GET", "/admin/rates", can(applications.ActionReadRates).inMenu(navRates, "参考利率"), s.handleRates},
		{"POST", "/admin/rates/{code}/entries", can(applications.ActionManageRates), s.handleRateEntryAdd},
	}
}

// handleRates lists the series and their entries (GET /admin/rates).
func (s *Server) handleRates(w http.ResponseWriter, r *http.Request) error {
	return s.renderRates(w, r, http.StatusOK, nil, nil, "")
}

func (s *Server) renderRates(w http.ResponseWriter, r *http.Request, status int, form map[string]string, errs ui.Errors, msg string) error {
	ss, err := s.DB.ListRateSeries(r.Context())
	if err != nil {
		return err
	}
	v := page.RatesView{Series: ss, History: map[string][]applications.RateEntry{}, Form: form, Errors: errs, FormError: msg,
		CanManage: currentUser(r).Role.Can(applications.ActionManageRates)}
	if v.Errors == nil {
		v.Errors = ui.Errors{}
	}
	for _, x := range ss {
		if v.History[x.Code], err = s.DB.RateHistory(r.Context(), x.Code); err != nil {
			return err
		}
	}
	return s.render(w, r, status, page.Rates(v))
}

// handleRateEntryAdd adds an entry, or a correction of one in force
// (POST /admin/rates/{code}/entries). A refusal shows beside its input
// with the values typed.
func (s *Server) handleRateEntryAdd(w http.ResponseWriter, r *http.Request) error {
	code := chiParam(r, "code")
	in := applications.RateEntryInput{Series: code, EffectiveDate: strings.TrimSpace(r.PostFormValue("effective_date")),
		RatePercent: r.PostFormValue("rate"), Source: r.PostFormValue("source"), Reason: r.PostFormValue("reason"),
		Withdraw: r.PostFormValue("withdraw") == "1"}
	if c := r.PostFormValue("corrects"); c != "" {
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil || id <= 0 {
			return applications.Errorf(applications.NotFound, "要更正的条目不存在。")
		}
		in.Corrects = id
	}
	if _, err := s.DB.AddRateEntry(r.Context(), actor(r), in); err != nil {
		k := applications.ErrorKind(err)
		if k != applications.Invalid && k != applications.Conflict {
			return err
		}
		errs := ui.Errors{}
		addFieldError(errs, err)
		form := map[string]string{"series": code, "effective_date": in.EffectiveDate, "rate": in.RatePercent, "source": in.Source}
		if in.Corrects != 0 {
			form = nil // a correction's message shows at the top
		}
		return s.renderRates(w, r, statusOf[k], form, errs, applications.ErrorMessage(err))
	}
	return s.redirectWithFlash(w, r, "/admin/rates", "已登记参考利率条目。")
}

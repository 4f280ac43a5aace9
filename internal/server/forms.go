package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/conversion"
	"ite/internal/day"
	"ite/web/ui"
)

// newFormKey is the idempotency key a money form carries (hex, 128 bits):
// generated when the form is rendered, so a double click or a retried
// request sends the same key and the store records once. In a page being
// rendered for the cache it is a placeholder that becomes a
// fresh key in every response.
func newFormKey(ctx context.Context) string {
	if ctx.Value(ctxCacheRender{}) != nil {
		return string(formKeyPlaceholder)
	}
	return randomHex(16)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// fieldErrors splits an error for a form: a field error goes next to its
// field, anything else to the top of the form.
func fieldErrors(err error) (ui.Errors, string) {
	var ae *applications.Error
	if errors.As(err, &ae) && ae.Field != "" {
		return ui.Errors{ae.Field: ae.Message}, ""
	}
	return nil, applications.ErrorMessage(err)
}

func optionalMoney(field, v string) (decimal.Decimal, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return decimal.Zero, nil
	}
	d, err := conversion.ParseMoney(v)
	if err != nil {
		return d, applications.FieldError(field, "请填写金额（元），最多两位小数，不带逗号。")
	}
	return d, nil
}

// parseDay reads an optional date field (day.Parse: 2026-01-31, 2026/1/31, 2026年1月31日).
func parseDay(field, v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	d, err := day.Parse(v)
	if err != nil {
		return time.Time{}, applications.FieldError(field, "日期格式应为 YYYY-MM-DD，例如 2026-01-31。")
	}
	return d, nil
}

// parseOptionalID reads an optional positive ID field.
func parseOptionalID(field, label, v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, applications.FieldError(field, label+"须为正整数。")
	}
	return id, nil
}

// parseAmount reads a money field typed by a user.
func parseAmount(v string) (decimal.Decimal, error) {
	d, err := conversion.ParseMoney(v)
	if err != nil || !d.IsPositive() {
		return decimal.Zero, applications.FieldError("amount", "请填写大于零的金额（元），最多两位小数，不含千分位。")
	}
	return d, nil
}

// addFieldError puts an Invalid error under its field (terms_template.x
// collapses to the template box) and reports whether it was one.
func addFieldError(errs ui.Errors, err error) bool {
	var e *applications.Error
	if !errors.As(err, &e) || e.Kind != applications.Invalid {
		return false
	}
	field := e.Field
	if i := strings.IndexByte(field, '.'); i > 0 {
		field = field[:i]
	}
	if field == "" {
		field = "_form"
	}
	errs[field] = e.Message
	return true
}

func moneyOrEmpty(d decimal.Decimal) string {
	if d.IsZero() {
		return ""
	}
	return conversion.FormatMoney(d)
}

func at(xs []string, i int) string {
	if i < len(xs) {
		return xs[i]
	}
	return ""
}

// pathID reads a positive integer URL parameter; anything else is a 404,
// not a 500.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, name), 10, 64)
	if err != nil || id <= 0 {
		return 0, applications.Errorf(applications.NotFound, "记录不存在，请检查地址。")
	}
	return id, nil
}

// formID reads an optional ID from a form field (0 when empty).
func formID(r *http.Request, name string) (int64, error) {
	v := strings.TrimSpace(r.PostFormValue(name))
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 0 {
		return 0, applications.FieldError(name, "所选项无效，请重新选择。")
	}
	return id, nil
}

// chiParam reads a URL parameter.
func chiParam(r *http.Request, name string) string { return chi.URLParam(r, name) }

// refused returns the domain error when err is a refusal the user can
// correct on the form they sent (Invalid or Conflict). The handler then
// shows that form again with the values typed, e.Message (and a field error
// beside its field) and status statusOf[e.Kind]. Anything else, nil
// included, is not a refusal: the handler returns it to the error page.
func refused(err error) (*applications.Error, bool) {
	var e *applications.Error
	if errors.As(err, &e) && (e.Kind == applications.Invalid || e.Kind == applications.Conflict) {
		return e, true
	}
	return nil, false
}

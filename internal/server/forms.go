package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/shopspring/decimal"
	"golang.org/x/net/html"

	"ite/internal/applications"
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
	return applications.AmountField(field, v)
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

// parseAmount reads a positive money field typed by a user
// (applications.ParseAmount: 3,000,000.00, 300万 ...).
func parseAmount(v string) (decimal.Decimal, error) {
	d, err := applications.AmountField("amount", v)
	if err == nil && !d.IsPositive() {
		err = applications.FieldError("amount", "金额须大于零。"+applications.AmountMessage)
	}
	return d, err
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
	return applications.FormatAmount(d)
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

// keepTyped fills the form a refused POST came from with what was typed, in
// a page rendered after the refusal: every form posting to the request's
// address (path, and query when the form's action has one) gets the posted
// values back: inputs' value, the options selected, checkboxes and radios
// checked, textarea text. So every form keeps what was typed, whatever its
// view model carries. Left as rendered: hidden inputs (CSRF token,
// idempotency key, version: the page's own), buttons and fields the post
// did not carry; password inputs lose any value; a file input cannot be
// refilled, so a note beside it says to choose the file again. posted is
// r.PostForm: ParseForm fills it for an ordinary form, and the multipart
// readers (formWithEvidence, reports, sign, uploads) set it to the fields
// they read.
func keepTyped(page []byte, addr *url.URL, posted url.Values) []byte {
	z := html.NewTokenizer(bytes.NewReader(page))
	var out bytes.Buffer
	out.Grow(len(page) + 1024)
	inForm := false
	next := map[string]int{} // the next posted value of a repeated text input
	selectName := ""         // the select being read, if its name was posted
	var selected []string    // the posted value(s) its options are checked against
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break // io.EOF: the tokenizer has consumed the whole page
		}
		raw := append([]byte(nil), z.Raw()...) // Token lowercases names in place
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken && tt != html.EndTagToken {
			out.Write(raw)
			continue
		}
		tok := z.Token()
		if tt == html.EndTagToken {
			switch tok.Data {
			case "form":
				inForm = false
			case "select":
				selectName = ""
			}
			out.Write(raw)
			continue
		}
		changed := false
		switch tok.Data {
		case "form":
			inForm = strings.EqualFold(attr(tok, "method"), http.MethodPost) && postsTo(attr(tok, "action"), addr)
			clear(next)
		case "input":
			if inForm && strings.EqualFold(attr(tok, "type"), "file") {
				// No page can give a chosen file back (browsers refuse to
				// set a file input): say so where the user looks for it.
				out.Write(raw)
				out.WriteString(fileAgainNote)
				continue
			}
			if inForm {
				changed = refillInput(&tok, posted, next)
			}
		case "select":
			selectName, selected = "", nil
			name := attr(tok, "name")
			vs, ok := posted[name]
			if !inForm || !ok {
				break
			}
			selectName = name
			if _, multiple := attrOK(tok, "multiple"); multiple {
				selected = vs
				break
			}
			// A repeated select (one per table row, e.g. an exit tranche's
			// kind) gets its own row's value: matching every posted value
			// selected several options in each and the browser showed the
			// last one, so every row came back as "the rest".
			selected = []string{at(vs, next[name])}
			next[name]++
		case "option":
			if selectName != "" {
				v, ok := attrOK(tok, "value")
				changed = ok && setFlag(&tok, "selected", slices.Contains(selected, v))
			}
		case "textarea":
			name := attr(tok, "name")
			vs, ok := posted[name]
			if !inForm || !ok || tt == html.SelfClosingTagToken {
				break
			}
			out.WriteString(tok.String())
			// Its text (RCDATA) is the next token, then </textarea>.
			if z.Next() == html.TextToken {
				z.Next()
			}
			out.WriteString(html.EscapeString(at(vs, next[name])))
			next[name]++
			out.WriteString("</textarea>")
			continue
		}
		if changed {
			out.WriteString(tok.String())
		} else {
			out.Write(raw)
		}
	}
	return out.Bytes()
}

// fileAgainNote follows each file input of a form given back after a
// refusal.
const fileAgainNote = `<span class="hint file-again" role="note">此前选择的文件未保存，请重新选择文件。</span>`

// postsTo reports whether a form's action is the request's address.
func postsTo(action string, addr *url.URL) bool {
	u, err := addr.Parse(action)
	if err != nil || u.Path != addr.Path {
		return false
	}
	return u.RawQuery == "" || u.RawQuery == addr.RawQuery
}

// refillInput puts the posted value back into one input and reports
// whether it changed the tag.
func refillInput(tok *html.Token, posted url.Values, next map[string]int) bool {
	name := attr(*tok, "name")
	switch strings.ToLower(attr(*tok, "type")) {
	case "hidden", "file", "submit", "button", "image", "reset":
		return false
	case "password":
		_, had := attrOK(*tok, "value")
		setAttr(tok, "value", "", false)
		return had
	case "checkbox", "radio":
		if name == "" {
			return false
		}
		v, ok := attrOK(*tok, "value")
		if !ok {
			v = "on"
		}
		return setFlag(tok, "checked", slices.Contains(posted[name], v))
	}
	vs, ok := posted[name]
	if name == "" || !ok {
		return false
	}
	i := next[name]
	next[name]++
	if i >= len(vs) {
		return false
	}
	if cur, _ := attrOK(*tok, "value"); cur != vs[i] && cur == applications.NormalAmount(vs[i]) {
		return false // the page shows the typed amount already, normalised (300万 → 3,000,000.00)
	}
	setAttr(tok, "value", vs[i], true)
	return true
}

func attrOK(tok html.Token, key string) (string, bool) {
	for _, a := range tok.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func attr(tok html.Token, key string) string {
	v, _ := attrOK(tok, key)
	return v
}

// setAttr sets (keep) or removes an attribute.
func setAttr(tok *html.Token, key, val string, keep bool) {
	attrs := tok.Attr[:0]
	for _, a := range tok.Attr {
		if a.Key != key {
			attrs = append(attrs, a)
		}
	}
	if keep {
		attrs = append(attrs, html.Attribute{Key: key, Val: val})
	}
	tok.Attr = attrs
}

// setFlag sets or removes a boolean attribute and reports whether that
// changed it.
func setFlag(tok *html.Token, key string, on bool) bool {
	_, had := attrOK(*tok, key)
	if had == on {
		return false
	}
	setAttr(tok, key, "", on)
	return true
}

// typedAmount is an amount as finance staff type it (3,000,000.00, 300万,
// full-width digits: applications.ParseAmount) in the calculator's and the
// store's spelling, 3000000.00. What is not an amount goes on as typed, so
// the calculator or the store refuses it with its own message beside the
// field: one place for the message, whichever input the user got wrong.
func typedAmount(v string) string {
	v = strings.TrimSpace(v)
	if d, err := applications.ParseAmount(v); err == nil && v != "" {
		return d.StringFixed(2)
	}
	return v
}

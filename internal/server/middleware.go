package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/web/layout"
)

// handlerFunc is a handler that returns its error instead of writing it;
// adapt turns the error into a status and a Chinese page.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type ctxKey int

const (
	ctxSession ctxKey = iota
	ctxRequestID
)

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(ctxRequestID).(string)
	return id
}

// sessionFrom returns the signed-in session, or nil.
func sessionFrom(ctx context.Context) *auth.Session {
	s, _ := ctx.Value(ctxSession).(*auth.Session)
	return s
}

// currentUser returns the signed-in user; gate guarantees one on
// non-public routes.
func currentUser(r *http.Request) *auth.User {
	if s := sessionFrom(r.Context()); s != nil {
		return &s.User
	}
	return nil
}

// requestID tags each request with a short random ID, shown on error pages
// and written to logs and audit rows so support can find a report.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		id := hex.EncodeToString(b)
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), ctxRequestID, id)
		ctx = layout.WithRequest(ctx, &layout.Request{RequestID: id, Path: r.URL.Path, Programme: s.Programme})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// recoverer turns a panic into a logged 500 page instead of a dropped
// connection.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.Error("panic", "request_id", requestIDFrom(r.Context()), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				s.writeError(w, r, &applications.Error{Kind: applications.Internal, Message: "internal"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// logRequests writes one structured line per request.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		s.Logger.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration_ms", time.Since(start).Milliseconds(), "request_id", requestIDFrom(r.Context()))
	})
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

const sessionCookie = "ite_session"

// maxFormBytes bounds a non-upload request body.
const maxFormBytes = 1 << 20

// loadSession finds the session of the cookie, if any, and puts it (and
// the CSRF token and flash for the layout) in the context.
func (s *Server) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := layout.FromContext(r.Context())
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			sess, err := s.DB.FindSession(r.Context(), c.Value)
			switch {
			case err == nil:
				info.User = &sess.User
				info.CSRFToken = sess.CSRFToken
				r = r.WithContext(context.WithValue(r.Context(), ctxSession, &sess))
			case applications.ErrorKind(err) == applications.Unauthenticated:
				s.clearCookie(w, r, sessionCookie)
			default:
				s.writeError(w, r, err)
				return
			}
		}
		if f, ok := s.readFlash(w, r); ok {
			info.Flash = f
		}
		next.ServeHTTP(w, r)
	})
}

// csrf refuses a state-changing request unless it comes from our own
// origin (Go's CrossOriginProtection, from Sec-Fetch-Site/Origin) AND
// carries the token bound to the session, or before sign-in, the signed
// pre-session token matching its cookie. A refusal is audit-logged. An
// ordinary form over maxFormBytes gets 413 and its own message instead.
func (s *Server) csrf(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		multipart := strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/")
		if !multipart {
			// Ordinary forms are small; uploads set their own limits.
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		}
		reason := ""
		if err := s.cop.Check(r); err != nil {
			reason = "cross_origin"
		} else if tooLarge(r, multipart) {
			// Not a stale page: the form is over the limit, and saying
			// "页面已过期" would send the user round in circles.
			s.writeError(w, r, applications.Errorf(applications.TooLarge, "%s", msgFormTooLarge))
			return
		} else if !s.validCSRF(r) {
			reason = "bad_token"
		}
		if reason != "" {
			s.audit(r, audit.Event{Name: "csrf_refused", Outcome: audit.Refused,
				Detail: map[string]any{"method": r.Method, "path": r.URL.Path, "reason": reason}})
			s.writeError(w, r, &applications.Error{Kind: applications.Forbidden,
				Message: "页面已过期或请求来源无法验证，请刷新页面后重新提交。"})
			return
		}
		s.markFresh(w, r)
		safeLoginName(r)
		if body := newUploadBody(r); multipart && body != nil {
			// Part headers cleaned, a cut-off body logged once (upload_body.go).
			r.Body = body
			defer func() {
				if body.cutOff != nil {
					s.Logger.Info("upload cut off", "method", r.Method, "path", r.URL.Path, "bytes", body.n,
						"err", body.cutOff, "request_id", requestIDFrom(r.Context()))
				}
			}()
		}
		next.ServeHTTP(w, r)
	})
}

// msgFormTooLarge is the message for an ordinary form over maxFormBytes.
const msgFormTooLarge = "提交的内容过大（超过 1 MiB），请删减后重试。"

// tooLarge parses an ordinary form (the CSRF check reads its token from
// it) and reports whether the body broke maxFormBytes.
func tooLarge(r *http.Request, multipart bool) bool {
	if multipart {
		return false
	}
	var mbe *http.MaxBytesError
	return errors.As(r.ParseForm(), &mbe)
}

// safeLoginName makes the username of a sign-in form safe for PostgreSQL
// text (audit.SafeText: a NUL or invalid UTF-8 escaped as \x00, \xNN).
// No account has such a name, so the attempt is what it is, a failed
// login with its login_failed row, instead of a statement the database
// refuses (and no audit row at all).
func safeLoginName(r *http.Request) {
	if r.URL.Path != "/login" || r.PostForm == nil {
		return
	}
	for _, form := range []url.Values{r.PostForm, r.Form} {
		for i, v := range form["username"] {
			form["username"][i] = audit.SafeText(v)
		}
	}
}

// csrfTokenFrom reads the token from the X-CSRF-Token header (htmx, XHR
// uploads) or the csrf_token form field; never from the URL, where it would
// end up in logs, history and Referer headers. A multipart body is never
// parsed whole here, so a large upload still streams to its handler: a
// plain (no-JavaScript) multipart form carries the token as its FIRST field
// (ui.CSRF first in the form, so browsers send it as the first part), and
// firstPartToken reads that part alone.
func csrfTokenFrom(r *http.Request) string {
	if t := r.Header.Get("X-CSRF-Token"); t != "" {
		return t
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		return firstPartToken(r)
	}
	return r.PostFormValue("csrf_token")
}

// maxTokenPeek bounds what firstPartToken reads of a multipart body: the
// boundary, the part's headers and a token fit many times over.
const maxTokenPeek = 8 << 10

// firstPartToken returns the value of the multipart body's first part when
// that part is csrf_token ("" otherwise), and puts back what it read: r.Body
// then yields the body exactly as sent, so the handler's multipart reader
// sees every part, the token included. At most maxTokenPeek bytes are held.
func firstPartToken(r *http.Request) string {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" || r.Body == nil || r.Body == http.NoBody {
		return ""
	}
	var seen bytes.Buffer
	src := r.Body
	mr := multipart.NewReader(io.TeeReader(io.LimitReader(src, maxTokenPeek), &seen), params["boundary"])
	tok := ""
	if part, err := mr.NextPart(); err == nil && part.FormName() == "csrf_token" {
		b, err := io.ReadAll(io.LimitReader(part, 512))
		if err == nil {
			tok = strings.TrimSpace(string(b))
		}
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(&seen, src), src}
	return tok
}

func (s *Server) validCSRF(r *http.Request) bool {
	got := csrfTokenFrom(r)
	if got == "" {
		return false
	}
	if sess := sessionFrom(r.Context()); sess != nil {
		return subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRFToken)) == 1
	}
	c, err := r.Cookie(preSessionCookie)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) == 1 && s.validSigned(c.Value)
}

const preSessionCookie = "ite_csrf"

// preSessionToken returns a signed random token for forms shown before
// sign-in (login, registration) and sets it as a cookie to double-submit.
func (s *Server) preSessionToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(preSessionCookie); err == nil && s.validSigned(c.Value) {
		return c.Value
	}
	tok := s.sign(auth.NewToken())
	s.setCookie(w, r, preSessionCookie, tok, 0)
	return tok
}

// sign appends an HMAC so the server can tell its own values apart.
func (s *Server) sign(v string) string {
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte(v))
	return v + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) validSigned(signed string) bool {
	i := strings.LastIndexByte(signed, '.')
	if i < 0 {
		return false
	}
	return hmac.Equal([]byte(s.sign(signed[:i])), []byte(signed))
}

func (s *Server) secureCookies(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(s.BaseURL, "https://")
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.secureCookies(r), MaxAge: int(maxAge.Seconds()),
	})
}

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(r), MaxAge: -1})
}

const flashCookie = "ite_flash"

// flash stores a one-time message for the next page, signed so a crafted
// cookie cannot put words in our mouth.
func (s *Server) flash(w http.ResponseWriter, r *http.Request, kind, msg string) {
	v := base64.RawURLEncoding.EncodeToString([]byte(kind + "\n" + msg))
	s.setCookie(w, r, flashCookie, s.sign(v), time.Minute)
}

func (s *Server) readFlash(w http.ResponseWriter, r *http.Request) (layout.Flash, bool) {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return layout.Flash{}, false
	}
	s.clearCookie(w, r, flashCookie)
	if !s.validSigned(c.Value) {
		return layout.Flash{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value[:strings.LastIndexByte(c.Value, '.')])
	if err != nil {
		return layout.Flash{}, false
	}
	kind, msg, _ := strings.Cut(string(raw), "\n")
	return layout.Flash{Kind: kind, Message: msg}, true
}

// gate enforces the route's access declaration: the one place roles are
// checked. Anonymous users are sent to sign in; a wrong role gets 403 and
// an audit row.
func (s *Server) gate(rt route) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if rt.access.public() {
			return rt.handle(w, r)
		}
		u := currentUser(r)
		if u == nil {
			if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
				http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return nil
			}
			return applications.Errorf(applications.Unauthenticated, "请先登录。")
		}
		if done, err := s.accountHold(w, r); done {
			return err // a forced password change or enrolment comes first (account.go)
		}
		if !rt.access.allows(u.Role) {
			s.audit(r, audit.Event{Name: "access_refused", Outcome: audit.Refused,
				Detail: map[string]any{"method": r.Method, "path": r.URL.Path}})
			return applications.Errorf(applications.Forbidden, "您的角色（%s）无权访问此页面。如需权限，请联系系统管理员。", u.Role.Label())
		}
		return rt.handle(w, r)
	}
}

// actor describes the requester for the audit log.
func actor(r *http.Request) audit.Actor {
	a := audit.Actor{IP: clientIP(r), RequestID: requestIDFrom(r.Context())}
	if u := currentUser(r); u != nil {
		a.ID, a.Name, a.Role = u.ID, u.DisplayName, string(u.Role)
	}
	return a
}

// audit records an event that has no transaction of its own to ride in.
// A failure to audit is logged loudly; the request itself has already
// been decided.
func (s *Server) audit(r *http.Request, e audit.Event) {
	e.Actor = actor(r)
	if err := s.DB.RecordAudit(r.Context(), e); err != nil {
		s.Logger.Error("audit write failed", "event", e.Name, "err", err, "request_id", e.Actor.RequestID)
	}
}

// clientIP is the peer address. Behind a load balancer, deployers put the
// proxy's trusted header into RemoteAddr with their proxy; we do not trust
// X-Forwarded-For from arbitrary clients.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

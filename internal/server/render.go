package server

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/a-h/templ"

	"ite/internal/applications"
	"ite/internal/postgres"
	"ite/web/page"
)

// render writes a component with a status. It renders into a buffer first
// so a template failure becomes a clean 500 page, never half a page sent
// with 200. A page after a refused POST (4xx) gets the form that was sent
// back with what was typed in it (keepTyped), passwords excepted.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) error {
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	if err := c.Render(r.Context(), buf); err != nil {
		return err
	}
	body := buf.Bytes()
	if r.Method == http.MethodPost && status >= 400 && status < 500 && len(r.PostForm) > 0 {
		body = keepTyped(body, r.URL, r.PostForm)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// The whole page is known: a Content-Length spares the chunked
	// encoding's framing on every write.
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}

// renderBuffers keeps the page buffers between requests: growing a fresh
// one to a 60 KB queue page was a twentieth of the page's CPU (clearing
// and copying memory, and the collector's work after it).
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putRenderBuffer returns a buffer to the pool unless one rare huge page
// made it big enough to be worth giving back to the collector.
func putRenderBuffer(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return
	}
	b.Reset()
	renderBuffers.Put(b)
}

// adapt turns a handlerFunc into an http.HandlerFunc, sending its error
// through writeError.
func (s *Server) adapt(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// statusOf is the one table from error kind to HTTP status.
var statusOf = map[applications.Kind]int{
	applications.Invalid:         http.StatusUnprocessableEntity,
	applications.NotFound:        http.StatusNotFound,
	applications.Conflict:        http.StatusConflict,
	applications.Forbidden:       http.StatusForbidden,
	applications.Unauthenticated: http.StatusUnauthorized,
	applications.TooLarge:        http.StatusRequestEntityTooLarge,
	applications.BadRequest:      http.StatusBadRequest,
	applications.Internal:        http.StatusInternalServerError,
}

var titleOf = map[int]string{
	http.StatusUnprocessableEntity:   "提交的内容有误",
	http.StatusNotFound:              "页面不存在",
	http.StatusConflict:              "操作冲突",
	http.StatusForbidden:             "无权访问",
	http.StatusUnauthorized:          "请先登录",
	http.StatusRequestEntityTooLarge: "文件过大",
	http.StatusBadRequest:            "请求不完整",
	http.StatusInternalServerError:   "系统错误",
}

// writeError renders the Chinese error page for err. Only internal errors
// are logged (once, here); their details never reach the user.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	kind := applications.ErrorKind(err)
	var maxBytes *http.MaxBytesError
	if errors.As(err, &maxBytes) {
		kind = applications.TooLarge
		err = applications.Errorf(applications.TooLarge, "上传的内容超过大小上限，请压缩后重试。")
	}
	// A database outage is no bug of ours: 503 and a retry page
	// (unavailable.go), not the 500 the kind table would give it.
	if kind == applications.Internal && postgres.Unavailable(err) {
		s.writeUnavailable(w, r, err)
		return
	}
	status := statusOf[kind]
	if kind == applications.Internal {
		s.Logger.Error("request failed", "err", err, "method", r.Method, "path", r.URL.Path,
			"request_id", requestIDFrom(r.Context()))
	}
	v := page.ErrorView{Status: status, Title: titleOf[status], Message: applications.ErrorMessage(err)}
	if rerr := s.render(w, r, status, page.Error(v)); rerr != nil {
		s.Logger.Error("render error page", "err", rerr)
		http.Error(w, v.Title, status)
	}
}

// redirectWithFlash ends a successful form post: a success flash for the
// next page and a 303 to url, so a reload does not post again.
func (s *Server) redirectWithFlash(w http.ResponseWriter, r *http.Request, url, msg string) error {
	s.flash(w, r, "success", msg)
	http.Redirect(w, r, url, http.StatusSeeOther)
	return nil
}

// applicationPath is the page of application id, with tail ("", "#notice",
// "/equity", ...).
func applicationPath(id int64, tail string) string {
	return "/applications/" + strconv.FormatInt(id, 10) + tail
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

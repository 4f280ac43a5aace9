package server

import (
	"net/http"
	"strconv"

	"ite/web/page"
)

// unavailableRetryAfter is the Retry-After of a 503: long enough for a
// restarted PostgreSQL to come back, short enough that a reload soon works.
const unavailableRetryAfter = 30

// msgUnavailable is the page text while the database cannot be reached.
const msgUnavailable = "系统暂时无法连接数据库，请稍后再试。如长时间无法恢复，请联系系统管理员。"

// writeUnavailable answers a request that failed because the database is
// down or going away (postgres.Unavailable): 503 with Retry-After and a
// Chinese page asking to try again later. It is logged as a warning, once
// per request: an outage is an operational event, not a bug, and
// PostgreSQL's own logs say why.
func (s *Server) writeUnavailable(w http.ResponseWriter, r *http.Request, err error) {
	s.Logger.Warn("database unavailable", "err", err, "method", r.Method, "path", r.URL.Path,
		"request_id", requestIDFrom(r.Context()))
	w.Header().Set("Retry-After", strconv.Itoa(unavailableRetryAfter))
	const status = http.StatusServiceUnavailable
	v := page.ErrorView{Status: status, Title: "暂时无法服务", Message: msgUnavailable}
	if rerr := s.render(w, r, status, page.Error(v)); rerr != nil {
		s.Logger.Error("render error page", "err", rerr)
		http.Error(w, msgUnavailable, status)
	}
}

package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/jackc/pgx/v5/pgxpool"

	"ite/internal/applications"
	"ite/internal/blob"
	"ite/internal/postgres"
)

// logBuffer collects a server's log lines for a test.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (e *env) captureLog() *logBuffer {
	lb := &logBuffer{}
	e.srv.Logger = slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return lb
}

// blobFiles lists every file under the env's blob store, temporary ones
// included.
func (e *env) blobFiles() []string {
	e.t.Helper()
	var out []string
	dir := e.srv.Blobs.(*blob.Local).Dir()
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, strings.TrimPrefix(p, dir))
		}
		return nil
	})
	return out
}

// cutOffUpload is a whole multipart upload of a 200 KiB PDF, cut 5,000
// bytes before its end: no closing boundary, as a client that dropped
// mid-upload leaves it.
func cutOffUpload(t *testing.T, fields map[string]string, field, filename string) (body []byte, contentType string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile(field, filename)
	_, _ = fw.Write(append(append([]byte{}, pdf...), bytes.Repeat([]byte("0123456789abcdef"), 200<<10/16)...))
	_ = mw.Close()
	return b.Bytes()[:b.Len()-5000], mw.FormDataContentType()
}

// TestTruncatedUploadIs400: an upload whose body ends without its closing
// boundary is the client's doing: 400 with a Chinese message and an INFO
// line, nothing stored (issue 19: it was 500 "系统错误" and an ERROR line).
func TestTruncatedUploadIs400(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	logs := e.captureLog()
	p := e.openProgramme()
	ent := e.loggedIn(applications.RoleEnterprise)
	id := ent.createApplication(p.ID, "1000000.00")
	path := "/applications/" + strconv.FormatInt(id, 10) + "/documents?item=" + string(applications.MaterialApplicationForm)

	t.Run("DocumentUploadXHR", func(t *testing.T) {
		body, ct := cutOffUpload(t, nil, "file", "申报书.pdf")
		req, _ := http.NewRequest("POST", e.http.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-Upload", "1")
		req.Header.Set("X-CSRF-Token", ent.csrf)
		r := ent.do(req)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, blob.MsgInterrupted) {
			t.Fatalf("truncated XHR upload: %d %q", r.StatusCode, r.body)
		}
	})
	t.Run("DocumentUploadForm", func(t *testing.T) {
		body, ct := cutOffUpload(t, nil, "file", "申报书.pdf")
		req, _ := http.NewRequest("POST", e.http.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-CSRF-Token", ent.csrf)
		r := ent.do(req)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.doc(t).Text(), blob.MsgInterrupted) {
			t.Fatalf("truncated form upload: %d %q", r.StatusCode, r.doc(t).Find("main").Text())
		}
	})
	t.Run("EventEvidence", func(t *testing.T) {
		staffC := e.loggedIn(applications.RoleStaff)
		body, ct := cutOffUpload(t, map[string]string{"kind": "financing", "event_date": e.clock.Now().Format("2006-01-02")}, "evidence", "投资协议.pdf")
		req, _ := http.NewRequest("POST", e.http.URL+"/applications/"+strconv.FormatInt(id, 10)+"/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-CSRF-Token", staffC.csrf)
		r := staffC.do(req)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.doc(t).Text(), blob.MsgInterrupted) {
			t.Fatalf("truncated evidence upload: %d %q", r.StatusCode, r.doc(t).Find("main").Text())
		}
	})
	t.Run("AgreementSign", func(t *testing.T) {
		funded := e.fundedA(termsA)
		var before int
		_ = e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM documents`).Scan(&before)
		staffC := e.loggedIn(applications.RoleStaff)
		body, ct := cutOffUpload(t, map[string]string{"signed_on": e.clock.Now().Format("2006-01-02")}, "file", "协议.pdf")
		req, _ := http.NewRequest("POST", e.http.URL+"/applications/"+strconv.FormatInt(funded, 10)+"/agreement/sign", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-CSRF-Token", staffC.csrf)
		r := staffC.do(req)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.doc(t).Text(), blob.MsgInterrupted) {
			t.Fatalf("truncated agreement upload: %d %q", r.StatusCode, r.doc(t).Find("main").Text())
		}
		var after int
		_ = e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM documents`).Scan(&after)
		if after != before {
			t.Fatalf("documents %d → %d", before, after)
		}
	})
	t.Run("NothingStored", func(t *testing.T) {
		var n int
		if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM documents WHERE application_id = $1`, id).Scan(&n); err != nil || n != 0 {
			t.Fatalf("documents rows %d, %v", n, err)
		}
		if files := e.blobFiles(); len(files) != 0 {
			t.Fatalf("blob store holds %q", files)
		}
	})
	t.Run("LoggedAsInfoNotError", func(t *testing.T) {
		got := logs.String()
		if strings.Count(got, `level=INFO msg="upload cut off"`) != 4 || strings.Contains(got, "level=ERROR") {
			t.Fatalf("log:\n%s", got)
		}
	})
	t.Run("WholeUploadStillWorks", func(t *testing.T) {
		if r := ent.upload(id, applications.MaterialApplicationForm, nil, "申报书.pdf", bytes.NewReader(pdf)); r.StatusCode != http.StatusOK {
			t.Fatalf("upload %d %s", r.StatusCode, r.body)
		}
		if strings.Count(logs.String(), "upload cut off") != 4 {
			t.Fatalf("a whole upload was logged as cut off:\n%s", logs.String())
		}
	})
}

// TestControlCharsInFileNameCleaned: a file name with control characters
// is stored without them (it was refused as "上传中断"), one of nothing
// but control characters gets the default name.
func TestControlCharsInFileNameCleaned(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.openProgramme()
	ent := e.loggedIn(applications.RoleEnterprise)
	id := ent.createApplication(p.ID, "1000000.00")
	for name, want := range map[string]string{
		"申报\x01书\x1b[31m\x7f.pdf": "申报书[31m.pdf",
		"tab\there.pdf":           "tabhere.pdf",
		"\x01\x02\x03":            "未命名文件",
	} {
		if r := ent.upload(id, applications.MaterialApplicationForm, nil, name, bytes.NewReader(pdf)); r.StatusCode != http.StatusOK {
			t.Fatalf("upload of %q: %d %s", name, r.StatusCode, r.body)
		}
		var got string
		if err := e.db.Pool.QueryRow(context.Background(),
			`SELECT filename FROM documents WHERE application_id = $1 ORDER BY version DESC LIMIT 1`, id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want || strings.IndexFunc(got, unicode.IsControl) >= 0 {
			t.Errorf("%q stored as %q, want %q", name, got, want)
		}
	}
}

// auditDetail returns the detail of the last audit row of event.
func (e *env) auditDetail(event string) map[string]any {
	e.t.Helper()
	var raw []byte
	err := e.db.Pool.QueryRow(context.Background(),
		`SELECT detail::text FROM audit_log WHERE event = $1 ORDER BY seq DESC LIMIT 1`, event).Scan(&raw)
	if err != nil {
		e.t.Fatalf("no %s audit row: %v", event, err)
	}
	var d map[string]any
	_ = json.Unmarshal(raw, &d)
	return d
}

func (e *env) mustVerifyAudit() {
	e.t.Helper()
	if n, err := e.db.VerifyAudit(context.Background()); err != nil {
		e.t.Fatalf("audit chain after %d rows: %v", n, err)
	}
}

// TestHostileTextIsAudited: a refusal whose path holds a NUL, and a login
// whose username holds a NUL or invalid UTF-8, leave their audit rows
// (issue 19: the insert failed with 22P05 and nothing was recorded), and
// the chain still verifies.
func TestHostileTextIsAudited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t.Run("NULPathAccessRefused", func(t *testing.T) {
		staffC := e.loggedIn(applications.RoleStaff)
		r := staffC.post("/applications/2%00/submit", nil)
		if r.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d", r.StatusCode)
		}
		if d := e.auditDetail("access_refused"); d["path"] != `/applications/2\x00/submit` {
			t.Fatalf("access_refused detail %v", d)
		}
	})
	t.Run("NULPathCSRFRefused", func(t *testing.T) {
		staffC := e.loggedIn(applications.RoleStaff)
		r := staffC.post("/applications/2%00/submit", url.Values{"csrf_token": {"stale"}})
		if r.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d", r.StatusCode)
		}
		if d := e.auditDetail("csrf_refused"); d["path"] != `/applications/2\x00/submit` {
			t.Fatalf("csrf_refused detail %v", d)
		}
	})
	for name, c := range map[string]struct{ username, stored string }{
		"NULUsername":         {"staff\x00", `staff\x00`},
		"InvalidUTF8Username": {"st\xffaff\xc3", `st\xffaff\xc3`},
	} {
		t.Run(name, func(t *testing.T) {
			c2 := e.client()
			c2.get("/login")
			r := c2.post("/login", url.Values{"username": {c.username}, "password": {testPassword}})
			if r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("login with %q: %d", c.username, r.StatusCode)
			}
			if d := e.auditDetail("login_failed"); d["username"] != c.stored || d["reason"] != "unknown_user" {
				t.Fatalf("login_failed detail %v, want username %q", d, c.stored)
			}
		})
	}
	e.mustVerifyAudit()
}

// TestFormOverLimitIs413: an ordinary form over 1 MiB gets 413 and its own
// message, not the CSRF "页面已过期" 403.
func TestFormOverLimitIs413(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	staffC := e.loggedIn(applications.RoleStaff)
	r := staffC.post("/applications", url.Values{"title": {strings.Repeat("a", 1<<20+1)}})
	if r.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(r.doc(t).Text(), "提交的内容过大（超过 1 MiB），请删减后重试。") {
		t.Fatalf("status %d %q", r.StatusCode, r.doc(t).Find("main").Text())
	}
	if strings.Contains(r.body, "页面已过期") || count(e.auditEvents(), "csrf_refused") != 0 {
		t.Fatal("an oversized form was taken for a stale page")
	}
	// Just under the limit the form goes through the CSRF check as usual.
	if r := staffC.post("/applications", url.Values{"title": {strings.Repeat("a", 900<<10)}}); r.StatusCode == http.StatusRequestEntityTooLarge {
		t.Fatal("a 900 KiB form was refused as too large")
	}
}

// deadPool is a pool to a port nobody listens on.
func deadPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	pool, err := pgxpool.New(context.Background(), "postgres://ite@"+addr+"/ite?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func wantUnavailable(t *testing.T, status int, h http.Header, body string) {
	t.Helper()
	if status != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, "系统暂时无法连接数据库，请稍后再试。") {
		t.Fatalf("status %d, Retry-After %q, body %q", status, h.Get("Retry-After"), body)
	}
	if n, err := strconv.Atoi(h.Get("Retry-After")); err != nil || n <= 0 {
		t.Fatalf("Retry-After %q is not a number of seconds", h.Get("Retry-After"))
	}
}

// TestDatabaseOutageIs503: while PostgreSQL cannot be reached, a signed-in
// page answers 503 with a Chinese retry page and Retry-After, not 500.
func TestDatabaseOutageIs503(t *testing.T) {
	t.Parallel()
	t.Run("NobodyListening", func(t *testing.T) {
		logs := &logBuffer{}
		srv := New(Config{DB: postgres.New(deadPool(t)), Logger: slog.New(slog.NewTextHandler(logs, nil)),
			Key: []byte("0123456789abcdef0123456789abcdef"), Version: "test"})
		for _, path := range []string{"/", "/applications", "/ledger"} {
			req := httptest.NewRequest("GET", path, nil)
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: "a-session-token"})
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			wantUnavailable(t, rec.Code, rec.Header(), rec.Body.String())
		}
		if strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "database unavailable") {
			t.Fatalf("log:\n%s", logs.String())
		}
	})
	t.Run("DatabaseStopped", func(t *testing.T) {
		e := newEnv(t)
		staffC := e.loggedIn(applications.RoleStaff)
		e.db.Pool.Close() // what the server sees of a stopped database: no connection to be had
		r := staffC.get("/applications")
		wantUnavailable(t, r.StatusCode, r.Header, r.doc(t).Text())
	})
}

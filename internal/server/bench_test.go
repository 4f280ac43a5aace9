package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/internal/blob"
	"ite/internal/postgres"
	"ite/internal/postgres/pgtest"
	"ite/internal/seed"
)

// The benchmarks of docs/PERFORMANCE.md that need the whole server: they
// go through the real router over HTTP, as a browser would. Run with
//
//	go test ./internal/server -run '^$' -bench Upload200MiB -benchtime 3x -benchmem
//	go test ./internal/server -run '^$' -bench QueuePage100k -timeout 30m

// benchServer is a server over its own database with one enterprise and
// one staff user, for benchmarks (newEnv wants a *testing.T).
type benchServer struct {
	b    *testing.B
	db   *postgres.DB
	srv  *Server
	http *httptest.Server
	ent  int64 // the enterprise
}

func newBenchServer(b *testing.B, maxUpload int64) *benchServer {
	b.Helper()
	db := postgres.New(pgtest.NewDB(b))
	blobs, err := blob.NewLocal(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	srv := New(Config{DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Key: []byte("0123456789abcdef0123456789abcdef"), PasswordParams: fastParams, Version: "bench",
		Blobs: blobs, MasterKey: []byte("master-key-master-key-master-key"), MaxUploadBytes: maxUpload})
	s := &benchServer{b: b, db: db, srv: srv, http: httptest.NewServer(srv)}
	b.Cleanup(s.http.Close)
	ctx := context.Background()
	ent, err := db.CreateEnterprise(ctx, audit.Actor{Name: "bench"}, "基准测试科技有限公司", applications.ExampleUSCC(3))
	if err != nil {
		b.Fatal(err)
	}
	s.ent = ent.ID
	hash, _ := auth.HashPassword(testPassword, fastParams)
	for _, role := range []applications.Role{applications.RoleEnterprise, applications.RoleStaff} {
		n := postgres.NewUser{Username: "bench-" + string(role), DisplayName: role.Label() + "乙", Role: role, PasswordHash: hash,
			TOTPSecret: benchSecret}
		if role == applications.RoleEnterprise {
			n.EnterpriseID = ent.ID
		}
		if _, err := db.CreateUser(ctx, audit.Actor{Name: "bench"}, n); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// benchSecret is the bench users' TOTP secret.
var benchSecret = auth.NewTOTPSecret()

// benchClient is a signed-in browser: cookies and the session's CSRF token.
type benchClient struct {
	hc   *http.Client
	base string
	csrf string
}

func (s *benchServer) login(role applications.Role) *benchClient {
	s.b.Helper()
	jar, _ := cookiejar.New(nil)
	c := &benchClient{hc: &http.Client{Jar: jar}, base: s.http.URL}
	token := func(path, sel, attr string) string {
		resp, err := c.hc.Get(c.base + path)
		if err != nil {
			s.b.Fatal(err)
		}
		defer resp.Body.Close()
		d, err := goquery.NewDocumentFromReader(resp.Body)
		if err != nil {
			s.b.Fatal(err)
		}
		v, _ := d.Find(sel).Attr(attr)
		return v
	}
	form := url.Values{"username": {"bench-" + string(role)}, "password": {testPassword},
		"csrf_token": {token("/login", `input[name="csrf_token"]`, "value")}}
	resp, err := c.hc.PostForm(c.base+"/login", form)
	if err != nil {
		s.b.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path == "/login/code" {
		// The second step. A benchmark signs one user in dozens of times
		// within a 30-second step, so the replay guard is reset first.
		if _, err := s.db.Pool.Exec(context.Background(), `DELETE FROM totp_steps WHERE user_id = (SELECT id FROM users WHERE username = $1)`,
			"bench-"+string(role)); err != nil {
			s.b.Fatal(err)
		}
		code, _ := auth.TOTPCode(benchSecret, time.Now())
		form := url.Values{"code": {code}, "csrf_token": {token("/login/code", `input[name="csrf_token"]`, "value")}}
		if resp, err = c.hc.PostForm(c.base+"/login/code", form); err != nil {
			s.b.Fatal(err)
		}
		resp.Body.Close()
	}
	if c.csrf = token("/", `meta[name="csrf-token"]`, "content"); c.csrf == "" {
		s.b.Fatalf("login as %s failed (status %d)", role, resp.StatusCode)
	}
	return c
}

// heapPeak samples the live heap every millisecond until the returned
// func is called, which returns the largest value seen.
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var mu sync.Mutex
	var peak uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			mu.Lock()
			peak = max(peak, sample[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

func liveHeap() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

const uploadBenchSize = 200 << 20

// pdfFiller is size bytes that sniff as PDF, generated as they are read:
// the upload is never in memory on the client side either.
type pdfFiller struct{ left int64 }

var pdfHead = []byte("%PDF-1.7\n% 200 MiB benchmark upload\n")

// alphabet repeats a–z over 64 KiB plus one turn, so any offset mod 26
// can start a copy of up to 64 KiB.
var alphabet = func() []byte {
	b := make([]byte, 64<<10+26)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}()

func (f *pdfFiller) Read(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), f.left, 64<<10)]
	off := uploadBenchSize - f.left
	n := 0
	if off < int64(len(pdfHead)) {
		n = copy(p, pdfHead[off:])
		off += int64(n)
	}
	n += copy(p[n:], alphabet[off%26:])
	f.left -= int64(n)
	return n, nil
}

// streamUpload posts a generated file through a streaming multipart
// writer (io.Pipe: nothing is buffered whole) the way the page's XHR does,
// and fails the benchmark unless the server answers 200.
func (c *benchClient) streamUpload(b *testing.B, appID int64, item applications.Material, fields map[string]string, size int64) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for k, v := range fields {
			if err := mw.WriteField(k, v); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		fw, err := mw.CreateFormFile("file", "big.pdf")
		if err == nil {
			_, err = io.CopyBuffer(fw, &pdfFiller{left: size}, make([]byte, 32<<10))
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest("POST", c.base+"/applications/"+strconv.FormatInt(appID, 10)+"/documents?item="+string(item), pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Upload", "1")
	req.Header.Set("X-CSRF-Token", c.csrf)
	resp, err := c.hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
}

// BenchmarkUpload200MiB posts a generated 200 MiB PDF to the real upload
// handler (MaxUploadBytes raised to 256 MiB): session, CSRF, the streamed
// multipart body, blob.Ingest (SHA-256, type sniffing, encryption for the
// credit report), the local store's fsync and the document row.
// peak-heap-growth-MiB is the largest growth of the live heap (client and
// server together, garbage included) sampled every millisecond during one
// upload, over the heap after a GC before it. The bound is 32 MiB.
func BenchmarkUpload200MiB(b *testing.B) {
	s := newBenchServer(b, 256<<20)
	ctx := context.Background()
	p := applications.NewProgramme(time.Now().Year(), time.Now())
	p.Name, p.Status = "基准测试批次", applications.ProgrammeOpen
	p.OpensOn, p.ClosesOn = time.Now().AddDate(0, 0, -10), time.Now().AddDate(0, 1, 0)
	p.TotalBudget = decimal.RequireFromString("50000000.00")
	p, err := s.db.CreateProgramme(ctx, audit.Actor{Name: "bench"}, p)
	if err != nil {
		b.Fatal(err)
	}
	users, _ := s.db.ListUsers(ctx)
	var entUser int64
	for _, u := range users {
		if u.Role == applications.RoleEnterprise {
			entUser = u.ID
		}
	}
	a, err := s.db.CreateApplication(ctx, audit.Actor{ID: entUser, Name: "bench"}, benchApplication(p.ID, s.ent))
	if err != nil {
		b.Fatal(err)
	}
	c := s.login(applications.RoleEnterprise)
	for _, tc := range []struct {
		name   string
		item   applications.Material
		fields map[string]string
	}{
		{"Plain", applications.MaterialApplicationForm, nil},
		{"Encrypted", applications.MaterialEnterpriseCreditReport, map[string]string{"issue_date": time.Now().AddDate(0, 0, -5).Format(time.DateOnly)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(uploadBenchSize)
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				b.StopTimer()
				runtime.GC()
				base := liveHeap()
				b.StartTimer()
				stop := heapPeak()
				c.streamUpload(b, a.ID, tc.item, tc.fields, uploadBenchSize)
				if top := stop(); top > base {
					peak = max(peak, top-base)
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-growth-MiB")
		})
	}
	docs, _ := s.db.ListDocuments(ctx, a.ID)
	for _, d := range docs {
		if d.Size != uploadBenchSize {
			b.Fatalf("stored %d bytes, sent %d", d.Size, uploadBenchSize)
		}
	}
}

func benchApplication(programmeID, enterpriseID int64) applications.Application {
	amount := decimal.RequireFromString("5000000.00")
	return applications.Application{ProgrammeID: programmeID, EnterpriseID: enterpriseID, Title: "基准测试项目",
		Sector: applications.SectorAI, RequestedAmount: amount, LeadName: "刘负责", LeadMobile: "13800001111",
		Content: applications.Content{Summary: "概述", Technology: "技术", Team: "团队", Market: "市场",
			Budget:     []applications.BudgetLine{{Item: "设备", Amount: amount}},
			Milestones: []applications.Milestone{{Date: "2027-06-30", Description: "完成中试"}}}}
}

// BenchmarkQueuePage100k renders the staff queue (GET /applications as
// staff, 50 rows) over 100,000 synthetic applications of about 33,000
// enterprises. Loading them (seed.Synthetic without documents: the queue
// never reads documents) takes about a minute and happens once, before
// the sub-benchmarks; the load time is logged. Each sub-benchmark reports
// the median and 90th percentile of its requests as median-ms and p90-ms;
// the target is a median under 20 ms for the page.
func BenchmarkQueuePage100k(b *testing.B) {
	s := newBenchServer(b, 0)
	ctx := context.Background()
	start := time.Now()
	rep, err := seed.Synthetic(ctx, s.db, seed.SyntheticOptions{N: 100_000, NoDocuments: true, Batch: 5000,
		PasswordParams: fastParams})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d applications, %d enterprises, %d users in %s", rep.Applications, rep.Enterprises, rep.Users,
		time.Since(start).Round(100*time.Millisecond))
	c := s.login(applications.RoleStaff)

	// A cursor a thousand pages deep, and a company to search for.
	var cursor string
	var row struct {
		at   time.Time
		id   int64
		name string
		code string
	}
	if err := s.db.Pool.QueryRow(ctx, `SELECT a.state_changed_at, a.id, e.name, e.uscc FROM applications a
		JOIN enterprises e ON e.id = a.enterprise_id ORDER BY a.state_changed_at, a.id OFFSET 50000 LIMIT 1`).
		Scan(&row.at, &row.id, &row.name, &row.code); err != nil {
		b.Fatal(err)
	}
	cursor = strconv.FormatInt(row.at.UnixMicro(), 10) + "_" + strconv.FormatInt(row.id, 10)
	nameFragment := string([]rune(row.name)[2:6]) // e.g. "金川博源"
	for _, tc := range []struct{ name, query string }{
		{"FirstPage", ""},
		{"StateSubmitted", "state=submitted"},
		{"SectorAndState", "sector=ai&state=under_review"},
		{"KeysetPage1000", "after=" + cursor},
		{"SearchUSCC", "q=" + row.code},
		{"SearchName", "q=" + url.QueryEscape(nameFragment)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				t0 := time.Now()
				resp, err := c.hc.Get(c.base + "/applications?" + tc.query)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				took = append(took, time.Since(t0))
				if resp.StatusCode != http.StatusOK || n < 1000 {
					b.Fatalf("GET /applications?%s: %d (%d bytes)", tc.query, resp.StatusCode, n)
				}
			}
			slices.Sort(took)
			b.ReportMetric(ms(took[len(took)/2]), "median-ms")
			b.ReportMetric(ms(took[len(took)*9/10]), "p90-ms")
		})
	}
	if page := c.page(b, "/applications"); !strings.Contains(page, `id="queue-table"`) || strings.Count(page, "<tr data-id=") != 50 {
		b.Fatalf("queue page does not show 50 rows")
	}
}

func (c *benchClient) page(b *testing.B, path string) string {
	resp, err := c.hc.Get(c.base + path)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return buf.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkPagesParallel drives the four pages of the load harness
// (docs/PERFORMANCE.md, "Load") through the real router with many
// concurrent signed-in clients over a small synthetic portfolio, to find
// where the CPU of one page goes:
//
//	go test ./internal/server -run '^$' -bench PagesParallel -cpuprofile /tmp/pages.prof
func BenchmarkPagesParallel(b *testing.B) {
	s := newBenchServer(b, 0)
	ctx := context.Background()
	if _, err := seed.Synthetic(ctx, s.db, seed.SyntheticOptions{N: 1000, Batch: 500, Blobs: s.srv.Blobs,
		MasterKey: s.srv.MasterKey, PasswordParams: fastParams}); err != nil {
		b.Fatal(err)
	}
	var ids []int64
	rows, _ := s.db.Pool.Query(ctx, `SELECT id FROM applications ORDER BY state_changed_at, id LIMIT 200`)
	for rows.Next() {
		var id int64
		_ = rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	clients := make(chan *benchClient, 32)
	for range 32 {
		clients <- s.login(applications.RoleStaff)
	}
	watch, stop := context.WithCancel(ctx)
	defer stop()
	go s.srv.WatchChanges(watch)
	for _, cache := range []bool{false, true} {
		s.srv.PageCache = cache
		b.Run(map[bool]string{false: "Uncached", true: "Cached"}[cache], func(b *testing.B) { benchPages(b, clients, ids) })
	}
}

func benchPages(b *testing.B, clients chan *benchClient, ids []int64) {
	for _, tc := range []struct {
		name string
		path func(i int) string
	}{
		{"Queue", func(int) string { return "/applications" }},
		{"Application", func(i int) string { return "/applications/" + strconv.FormatInt(ids[i%len(ids)], 10) }},
		{"Dashboard", func(int) string { return "/dashboard" }},
		{"Journal", func(int) string { return "/ledger/journal" }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				c := <-clients
				defer func() { clients <- c }()
				i := 0
				for pb.Next() {
					i++
					resp, err := c.hc.Get(c.base + tc.path(i))
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("%s: %d", tc.path(i), resp.StatusCode)
						return
					}
				}
			})
		})
	}
}

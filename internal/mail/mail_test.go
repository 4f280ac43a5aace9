package mail

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"mime"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/postgres"
	"ite/internal/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// world is a database with a funded project whose enterprise has two
// users, one of them with an email address.
type world struct {
	t     *testing.T
	ctx   context.Context
	db    *postgres.DB
	clock *clock
	smtp  *smtpServer
	appID int64
}

const fromHeader = "经开区科技人才局 <noreply@ite.example>"

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 7, 10, 2, 0, 0, 0, time.UTC)}
	db := postgres.New(pgtest.NewDB(t))
	db.Now = clk.Now
	sys := audit.Actor{Name: "test"}
	p := applications.NewProgramme(2026, clk.Now())
	p.Name, p.TotalBudget = "2026年度先投后股科技项目", decimal.RequireFromString("50000000.00")
	p, err := db.CreateProgramme(ctx, sys, p)
	if err != nil {
		t.Fatal(err)
	}
	ent, err := db.CreateEnterprise(ctx, sys, "测试科技有限公司", applications.ExampleUSCC(7))
	if err != nil {
		t.Fatal(err)
	}
	var userIDs []int64
	for i, name := range []string{"zhang", "lisi"} {
		u, err := db.CreateUser(ctx, sys, postgres.NewUser{Username: name, DisplayName: []string{"张三", "李四"}[i],
			Role: applications.RoleEnterprise, PasswordHash: "x", EnterpriseID: ent.ID})
		if err != nil {
			t.Fatal(err)
		}
		userIDs = append(userIDs, u.ID)
	}
	if err := db.SetUserEmail(ctx, sys, userIDs[0], "zhang@example.com"); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ctx: ctx, db: db, clock: clk, smtp: newSMTPServer(t)}
	funded := time.Date(2026, 1, 15, 3, 0, 0, 0, time.UTC)
	err = db.Pool.QueryRow(ctx, `
		INSERT INTO applications (programme_id, enterprise_id, title, sector, requested_amount, content, state,
			state_changed_at, created_by, created_at, updated_at)
		VALUES ($1, $2, '高性能储能材料中试', 'new_energy_materials', 1000000, '{}', 'funded', $3, $4, $3, $3)
		RETURNING id`, p.ID, ent.ID, funded, userIDs[0]).Scan(&w.appID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO application_transitions (application_id, from_state, to_state, actor_name, actor_role, at)
		VALUES ($1, 'contracted', 'funded', 'test', 'approver', $2)`, w.appID, funded); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) worker() *Worker {
	w.t.Helper()
	wk, err := NewWorker(Config{Addr: w.smtp.addr, From: fromHeader}, w.db, "https://ite.example/", quiet())
	if err != nil {
		w.t.Fatal(err)
	}
	wk.Now = w.clock.Now
	return wk
}

// queue puts one email straight into the outbox.
func (w *world) queue(to, subject string) int64 {
	w.t.Helper()
	var id int64
	if err := w.db.Pool.QueryRow(w.ctx, `INSERT INTO email_outbox (to_address, subject, body, link, created_at, next_attempt_at)
		VALUES ($1, $2, '正文', '/inbox', $3, $3) RETURNING id`, to, subject, w.clock.Now()).Scan(&id); err != nil {
		w.t.Fatal(err)
	}
	return id
}

type outboxRow struct {
	attempts    int
	nextAttempt time.Time
	sent        bool
	failed      bool
	lastError   string
}

func (w *world) row(id int64) outboxRow {
	w.t.Helper()
	var r outboxRow
	if err := w.db.Pool.QueryRow(w.ctx, `SELECT attempts, next_attempt_at, sent_at IS NOT NULL, failed_at IS NOT NULL, last_error
		FROM email_outbox WHERE id = $1`, id).Scan(&r.attempts, &r.nextAttempt, &r.sent, &r.failed, &r.lastError); err != nil {
		w.t.Fatal(err)
	}
	return r
}

func (w *world) drain(wk *Worker) DrainResult {
	w.t.Helper()
	res, err := wk.Drain(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	return res
}

// TestDeliveryOfAnEvent follows one event to the mailbox: a report falls
// due, the enterprise's users get it in the inbox, the one with an address
// gets an email, and the worker delivers it once.
func TestDeliveryOfAnEvent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	sweep, err := w.db.EnsureDueReports(w.ctx, w.clock.Now())
	if err != nil || sweep.Created != 1 {
		t.Fatalf("EnsureDueReports = %+v, %v; want one report", sweep, err)
	}
	var inbox int
	_ = w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM notifications`).Scan(&inbox)
	pending, _ := w.db.ListEmails(w.ctx, postgres.OutboxFilter{Pending: true})
	if inbox != 2 || len(pending) != 1 || pending[0].To != "zhang@example.com" {
		t.Fatalf("%d notifications, outbox %+v; want 2 and one email to zhang", inbox, pending)
	}

	res := w.drain(w.worker())
	if res.Sent != 1 || res.Retried+res.Failed != 0 {
		t.Fatalf("Drain = %+v", res)
	}
	got := w.smtp.messages()
	if len(got) != 1 || got[0].to != "zhang@example.com" || got[0].from != "noreply@ite.example" {
		t.Fatalf("received %v", got)
	}
	msg, err := mail.ReadMessage(strings.NewReader(got[0].data))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != pending[0].Subject || !strings.HasPrefix(subject, "进展报告待提交：「高性能储能材料中试」2026年1月15日 至 2026年6月30日") {
		t.Errorf("Subject %q (%v), want %q", subject, err, pending[0].Subject)
	}
	from, err := mail.ParseAddress(msg.Header.Get("From"))
	if err != nil || from.Name != "经开区科技人才局" || from.Address != "noreply@ite.example" {
		t.Errorf("From %q: %+v %v", msg.Header.Get("From"), from, err)
	}
	for h, want := range map[string]string{"MIME-Version": "1.0", "Content-Type": "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "base64", "To": "<zhang@example.com>", "Auto-Submitted": "auto-generated"} {
		if msg.Header.Get(h) != want {
			t.Errorf("%s: %q, want %q", h, msg.Header.Get(h), want)
		}
	}
	if id := msg.Header.Get("Message-Id"); !strings.HasPrefix(id, "<outbox-") || !strings.HasSuffix(id, "@ite.example>") {
		t.Errorf("Message-ID %q", id)
	}
	raw, _ := io.ReadAll(msg.Body)
	body, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\n", ""))
	if err != nil {
		t.Fatalf("body is not base64: %v", err)
	}
	var reportID int64
	_ = w.db.Pool.QueryRow(w.ctx, `SELECT id FROM progress_reports`).Scan(&reportID)
	for _, want := range []string{"张三，您好", "进展报告待提交", "https://ite.example/reports/" + itoa(reportID), "\r\n"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}

	if r := w.row(pending[0].ID); !r.sent || r.attempts != 1 {
		t.Errorf("outbox row after delivery: %+v", r)
	}
	if res := w.drain(w.worker()); res.Sent != 0 || len(w.smtp.messages()) != 1 {
		t.Errorf("second drain sent again: %+v", res)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestRetryAfterFailure: a temporary refusal schedules a retry after the
// backoff; nothing is sent before then; the retry delivers.
func TestRetryAfterFailure(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.smtp.set(func(s *smtpServer) {
		s.refuse = func(to string, n int) string {
			if n == 1 {
				return "451 4.3.0 mailbox busy, try later"
			}
			return ""
		}
	})
	id := w.queue("wang@example.com", "测试重试")
	wk := w.worker()
	if res := w.drain(wk); res.Retried != 1 || res.Sent != 0 {
		t.Fatalf("first drain: %+v", res)
	}
	r := w.row(id)
	if r.attempts != 1 || r.sent || r.failed || !strings.Contains(r.lastError, "451") ||
		!r.nextAttempt.Equal(w.clock.Now().Add(time.Minute)) {
		t.Fatalf("after a temporary failure: %+v", r)
	}
	if res := w.drain(wk); res != (DrainResult{}) {
		t.Fatalf("drain before the backoff ran out: %+v", res)
	}
	w.clock.Advance(time.Minute)
	if res := w.drain(wk); res.Sent != 1 {
		t.Fatalf("drain after the backoff: %+v", res)
	}
	if r := w.row(id); !r.sent || r.attempts != 2 || r.lastError != "" {
		t.Fatalf("after the retry: %+v", r)
	}
	if got := w.smtp.messages(); len(got) != 1 || got[0].to != "wang@example.com" {
		t.Fatalf("received %v", got)
	}
}

// TestGivingUp: the backoff doubles; after MaxAttempts the email is given
// up with its last error; a permanent refusal gives up at once.
func TestGivingUp(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.smtp.set(func(s *smtpServer) {
		s.refuse = func(to string, n int) string {
			if to == "nobody@example.com" {
				return "550 5.1.1 no such user"
			}
			return "421 4.7.0 try again later"
		}
	})
	busy := w.queue("busy@example.com", "一直失败")
	gone := w.queue("nobody@example.com", "地址不存在")
	wk := w.worker()
	wk.MaxAttempts = 3
	if res := w.drain(wk); res.Retried != 1 || res.Failed != 1 {
		t.Fatalf("first drain: %+v", res)
	}
	if r := w.row(gone); !r.failed || r.attempts != 1 || !strings.Contains(r.lastError, "550") {
		t.Fatalf("permanent refusal: %+v", r)
	}
	for attempt, wait := range []time.Duration{time.Minute, 2 * time.Minute} {
		r := w.row(busy)
		if r.attempts != attempt+1 || !r.nextAttempt.Equal(w.clock.Now().Add(wait)) || r.failed {
			t.Fatalf("after attempt %d: %+v, want a retry in %s", attempt+1, r, wait)
		}
		w.clock.Advance(wait)
		w.drain(wk)
	}
	if r := w.row(busy); !r.failed || r.sent || r.attempts != 3 || !strings.Contains(r.lastError, "421") {
		t.Fatalf("after the last attempt: %+v", r)
	}
	w.clock.Advance(24 * time.Hour)
	if res := w.drain(wk); res != (DrainResult{}) {
		t.Fatalf("a given-up email was tried again: %+v", res)
	}
	if n := len(w.smtp.messages()); n != 0 {
		t.Fatalf("%d messages delivered", n)
	}
}

// TestStaleBacklogIsNotSent: emails queued long ago (SMTP configured
// after running without it) are given up, not sent.
func TestStaleBacklogIsNotSent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	old := w.queue("old@example.com", "三天前的通知")
	w.clock.Advance(73 * time.Hour)
	fresh := w.queue("new@example.com", "刚才的通知")
	if res := w.drain(w.worker()); res.Sent != 1 || res.Failed != 1 {
		t.Fatalf("Drain = %+v", res)
	}
	if r := w.row(old); !r.failed || !strings.Contains(r.lastError, "expired") {
		t.Fatalf("stale email: %+v", r)
	}
	if r := w.row(fresh); !r.sent {
		t.Fatalf("fresh email: %+v", r)
	}
}

// TestSTARTTLSAndAuth: offered STARTTLS is used before AUTH and MAIL.
func TestSTARTTLSAndAuth(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	serverTLS, clientTLS := selfSigned(t)
	w.smtp.set(func(s *smtpServer) { s.tls, s.user, s.pass = serverTLS, "mailer", "s3cret" })
	w.queue("zhao@example.com", "加密投递")
	wk, err := NewWorker(Config{Addr: w.smtp.addr, From: "noreply@ite.example", Username: "mailer", Password: "s3cret"},
		w.db, "https://ite.example", quiet())
	if err != nil {
		t.Fatal(err)
	}
	wk.Sender.(*SMTP).TLSConfig = clientTLS
	wk.Now = w.clock.Now
	if res := w.drain(wk); res.Sent != 1 {
		t.Fatalf("Drain = %+v", res)
	}
	if got := w.smtp.messages(); len(got) != 1 || !got[0].tls || !got[0].authed {
		t.Fatalf("received %v, want one over TLS after AUTH", got)
	}

	t.Run("WrongPasswordIsRetried", func(t *testing.T) {
		w.queue("zhao@example.com", "密码错误")
		wk.Sender.(*SMTP).Password = "wrong"
		if res := w.drain(wk); res.Retried != 1 {
			t.Fatalf("Drain = %+v", res)
		}
	})
}

func TestRunStopsWithItsContext(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.queue("qian@example.com", "后台发送")
	wk := w.worker()
	wk.Interval = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan struct{})
	go func() { wk.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(w.smtp.messages()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if len(w.smtp.messages()) != 1 {
		t.Fatal("Run did not send the queued email")
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Parallel()
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	c, err := ConfigFromEnv(env())
	if err != nil || c.Enabled() {
		t.Fatalf("nothing set: %+v %v, want disabled", c, err)
	}
	c, err = ConfigFromEnv(env("SMTP_ADDR", "smtp.example.com:587", "SMTP_FROM", "平台 <noreply@example.com>",
		"SMTP_USERNAME", "u", "SMTP_PASSWORD", "p"))
	if err != nil || !c.Enabled() || c.Username != "u" {
		t.Fatalf("full config: %+v %v", c, err)
	}
	for name, e := range map[string]func(string) string{
		"NoFrom":       env("SMTP_ADDR", "smtp.example.com:587"),
		"NoPort":       env("SMTP_ADDR", "smtp.example.com", "SMTP_FROM", "a@example.com"),
		"BadFrom":      env("SMTP_ADDR", "smtp.example.com:25", "SMTP_FROM", "not an address"),
		"UserNoSecret": env("SMTP_ADDR", "smtp.example.com:25", "SMTP_FROM", "a@example.com", "SMTP_USERNAME", "u"),
	} {
		if _, err := ConfigFromEnv(e); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestMessageHeaders(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("进展报告待提交", 12)
	m := Message{From: &mail.Address{Name: "科技人才局", Address: "noreply@ite.example"}, To: "a@example.com",
		Subject: long + "\r\nBcc: evil@example.com", Body: "第一行\n第二行", Date: time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC),
		MessageID: "x@ite.example"}
	raw := string(m.Bytes())
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		if len(line) > 998 {
			t.Errorf("header line of %d bytes", len(line))
		}
		if strings.HasPrefix(line, "Bcc:") {
			t.Errorf("a subject started a header of its own: %q", line)
		}
	}
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != long+" Bcc: evil@example.com" {
		t.Errorf("Subject decodes to %q (%v)", subject, err)
	}
	if !strings.Contains(head, "Subject: =?utf-8?q?") || !strings.Contains(head, "?=\r\n =?utf-8?q?") {
		t.Errorf("subject not Q-encoded and folded:\n%s", head)
	}
	b, _ := io.ReadAll(msg.Body)
	body, _ := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(b), "\r\n", ""))
	if string(body) != "第一行\r\n第二行" {
		t.Errorf("body %q", body)
	}
}

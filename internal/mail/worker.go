package mail

import (
	"context"
	"errors"
	"log/slog"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"ite/internal/postgres"
)

// Outbox is the part of the store the worker uses (*postgres.DB).
type Outbox interface {
	ClaimEmails(ctx context.Context, limit int, lease time.Duration) ([]postgres.OutboxEmail, error)
	MarkEmailSent(ctx context.Context, id int64) error
	RetryEmail(ctx context.Context, id int64, errText string, after time.Duration) error
	FailEmail(ctx context.Context, id int64, errText string) error
}

// Worker drains the outbox. Build it with NewWorker; the zero values of
// the tuning fields take the defaults below.
type Worker struct {
	Outbox Outbox
	Sender Sender
	From   *mail.Address
	// BaseURL prefixes the link of each email (the app's public address).
	BaseURL string
	// SubjectPrefix goes before every subject, e.g. 【先投后股】.
	SubjectPrefix string
	Logger        *slog.Logger
	Now           func() time.Time // the Date header; default time.Now

	Interval    time.Duration // between passes over the outbox; default 30 s
	Batch       int           // emails claimed at a time; default 20
	MaxAttempts int           // attempts before giving up; default 8
	Backoff     time.Duration // delay after the first failure, doubling each time; default 1 min
	MaxBackoff  time.Duration // cap on the delay; default 6 h
	SendTimeout time.Duration // bound on one delivery, for the claim's lease; default 1 min
	// MaxAge gives up emails older than this unsent (default 72 h): when
	// SMTP is configured after running without it for a while, the
	// backlog of stale notices is not sent (they stay in the inbox).
	MaxAge time.Duration
}

// NewWorker builds a worker that sends through the configured SMTP relay.
// Errors: a bad SMTP_FROM (ConfigFromEnv has already refused it).
func NewWorker(cfg Config, outbox Outbox, baseURL string, logger *slog.Logger) (*Worker, error) {
	from, err := cfg.from()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Worker{
		Outbox:  outbox,
		Sender:  &SMTP{Addr: cfg.Addr, Username: cfg.Username, Password: cfg.Password},
		From:    from,
		BaseURL: strings.TrimRight(baseURL, "/"),
		Logger:  logger,
	}, nil
}

func (w *Worker) interval() time.Duration   { return orDuration(w.Interval, 30*time.Second) }
func (w *Worker) backoff() time.Duration    { return orDuration(w.Backoff, time.Minute) }
func (w *Worker) maxBackoff() time.Duration { return orDuration(w.MaxBackoff, 6*time.Hour) }
func (w *Worker) maxAge() time.Duration     { return orDuration(w.MaxAge, 72*time.Hour) }
func (w *Worker) sendTimeout() time.Duration {
	return orDuration(w.SendTimeout, time.Minute)
}

func (w *Worker) batch() int {
	if w.Batch > 0 {
		return w.Batch
	}
	return 20
}

func (w *Worker) maxAttempts() int {
	if w.MaxAttempts > 0 {
		return w.MaxAttempts
	}
	return 8
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func orDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Run drains the outbox every Interval until ctx ends. Errors are logged;
// the next pass tries again.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.interval())
	defer t.Stop()
	for {
		if _, err := w.Drain(ctx); err != nil && ctx.Err() == nil {
			w.Logger.Error("mail outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DrainResult counts what one Drain did.
type DrainResult struct {
	Sent, Retried, Failed int
}

// Drain sends every email that is due now, batch by batch, and returns
// when none is left (or ctx ends). An email whose delivery fails is
// retried after Backoff × 2^(attempts−1) (at most MaxBackoff), or given up
// after MaxAttempts attempts, or at once on a permanent refusal.
func (w *Worker) Drain(ctx context.Context) (DrainResult, error) {
	var res DrainResult
	lease := time.Duration(w.batch())*w.sendTimeout() + time.Minute
	for ctx.Err() == nil {
		batch, err := w.Outbox.ClaimEmails(ctx, w.batch(), lease)
		if err != nil {
			return res, err
		}
		for _, m := range batch {
			if err := w.deliver(ctx, m, &res); err != nil {
				return res, err
			}
		}
		if len(batch) < w.batch() {
			break
		}
	}
	return res, nil
}

// deliver sends one claimed email and records the outcome; the returned
// error is a failure to record it.
func (w *Worker) deliver(ctx context.Context, m postgres.OutboxEmail, res *DrainResult) error {
	if age := w.now().Sub(m.CreatedAt); age > w.maxAge() {
		res.Failed++
		return w.Outbox.FailEmail(ctx, m.ID, "expired unsent after "+age.Round(time.Minute).String()+" (older than MaxAge)")
	}
	sendCtx, cancel := context.WithTimeout(ctx, w.sendTimeout())
	err := w.Sender.Send(sendCtx, w.From.Address, m.To, w.message(m).Bytes())
	cancel()
	if err == nil {
		res.Sent++
		return w.Outbox.MarkEmailSent(ctx, m.ID)
	}
	if ctx.Err() != nil {
		// Shutting down: the lease expires and another pass retries it.
		return ctx.Err()
	}
	var perm *PermanentError
	if errors.As(err, &perm) || m.Attempts >= w.maxAttempts() {
		res.Failed++
		w.Logger.Warn("mail given up", "email_id", m.ID, "attempts", m.Attempts, "err", err)
		return w.Outbox.FailEmail(ctx, m.ID, err.Error())
	}
	res.Retried++
	delay := w.backoff()
	for i := 1; i < m.Attempts && delay < w.maxBackoff(); i++ {
		delay *= 2
	}
	delay = min(delay, w.maxBackoff())
	w.Logger.Info("mail retry", "email_id", m.ID, "attempts", m.Attempts, "retry_in", delay.String(), "err", err)
	return w.Outbox.RetryEmail(ctx, m.ID, err.Error(), delay)
}

// message renders an outbox row: its body, the link to the page, and a
// line saying it was sent by the system.
func (w *Worker) message(m postgres.OutboxEmail) Message {
	var body strings.Builder
	body.WriteString(m.Body)
	if m.Link != "" {
		body.WriteString("\n\n查看详情：" + w.BaseURL + m.Link)
	}
	body.WriteString("\n\n——\n此邮件由系统自动发送，请勿直接回复。您也可以登录平台在“消息”中查看全部通知。\n")
	domain := "localhost"
	if at := strings.LastIndexByte(w.From.Address, '@'); at >= 0 {
		domain = w.From.Address[at+1:]
	}
	return Message{From: w.From, To: m.To, Subject: w.SubjectPrefix + m.Subject, Body: body.String(),
		Date: w.now(), MessageID: "outbox-" + strconv.FormatInt(m.ID, 10) + "." + strconv.FormatInt(m.CreatedAt.Unix(), 10) + "@" + domain}
}

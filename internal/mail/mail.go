// Package mail sends the email notifications queued in the transactional
// outbox (table email_outbox, written by internal/postgres in the same
// transaction as the event and its in-app notification).
//
// A Worker claims due rows in batches (SELECT ... FOR UPDATE SKIP LOCKED,
// so several app servers can run one each), sends each over SMTP, and
// marks it sent, or schedules a retry with exponential backoff, or gives
// it up after MaxAttempts (or at once when the server refuses the
// recipient with a 5xx), keeping the last error. Delivery is at least
// once: a worker that dies mid-send leaves the row to be retried when its
// lease runs out; the Message-ID is stable across retries so receivers can
// drop duplicates.
//
// Configuration (environment of the serve command):
//
//	SMTP_ADDR      host:port of the SMTP relay, e.g. smtp.example.com:587.
//	               Unset: email is off; the outbox still fills (so nothing
//	               is lost) but nothing drains it. Port 465 speaks TLS from
//	               the first byte (SMTPS); any other port is upgraded with
//	               STARTTLS whenever the server offers it.
//	SMTP_FROM      the sender, "name <address>" or a bare address; required
//	               with SMTP_ADDR. The display name may be Chinese.
//	SMTP_USERNAME  optional: PLAIN authentication, which is only ever sent
//	SMTP_PASSWORD  over TLS (or to a relay on localhost).
package mail

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strings"
)

// Config is the SMTP relay (see the package comment for the variables).
type Config struct {
	Addr     string // SMTP_ADDR, host:port; "" = email off
	From     string // SMTP_FROM
	Username string // SMTP_USERNAME
	Password string // SMTP_PASSWORD
}

// Enabled reports whether email is configured.
func (c Config) Enabled() bool { return c.Addr != "" }

// ConfigFromEnv reads SMTP_ADDR, SMTP_FROM, SMTP_USERNAME and
// SMTP_PASSWORD. All unset is a valid, disabled configuration.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Addr:     strings.TrimSpace(getenv("SMTP_ADDR")),
		From:     strings.TrimSpace(getenv("SMTP_FROM")),
		Username: getenv("SMTP_USERNAME"),
		Password: getenv("SMTP_PASSWORD"),
	}
	if !c.Enabled() {
		return c, nil
	}
	if host, port, err := net.SplitHostPort(c.Addr); err != nil || host == "" || port == "" {
		return c, fmt.Errorf("SMTP_ADDR 须为 主机:端口，例如 smtp.example.com:587（当前 %q）", c.Addr)
	}
	if c.From == "" {
		return c, errors.New("设置了 SMTP_ADDR 时必须同时设置 SMTP_FROM（发件人地址）")
	}
	if _, err := c.from(); err != nil {
		return c, fmt.Errorf("SMTP_FROM 不是有效的邮箱地址（%q）: %w", c.From, err)
	}
	if (c.Username == "") != (c.Password == "") {
		return c, errors.New("SMTP_USERNAME 和 SMTP_PASSWORD 须同时设置或同时不设")
	}
	return c, nil
}

func (c Config) from() (*mail.Address, error) {
	a, err := mail.ParseAddress(c.From)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(a.Address, "\r\n") {
		return nil, errors.New("line break in address")
	}
	return a, nil
}

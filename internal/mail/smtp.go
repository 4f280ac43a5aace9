package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"
)

// Sender delivers one rendered message.
type Sender interface {
	Send(ctx context.Context, from, to string, msg []byte) error
}

// SMTP sends through a relay with net/smtp: a connection per message,
// STARTTLS whenever the server offers it (port 465: TLS from the start),
// PLAIN authentication when a username is set.
type SMTP struct {
	Addr     string
	Username string
	Password string
	// TLSConfig overrides the TLS settings (tests trust their own
	// certificate with it); nil verifies the server as Addr's host.
	TLSConfig *tls.Config
	// Timeout bounds one whole delivery (dial to QUIT); default 1 minute.
	Timeout time.Duration
}

// PermanentError is a refusal that retrying will not change (a 5xx reply
// to the sender or recipient address): the worker gives the email up at
// once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

func (s *SMTP) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return time.Minute
}

func (s *SMTP) tlsConfig(host string) *tls.Config {
	if s.TLSConfig != nil {
		c := s.TLSConfig.Clone()
		if c.ServerName == "" {
			c.ServerName = host
		}
		return c
	}
	return &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
}

// Send delivers msg from the envelope sender to one recipient.
func (s *SMTP) Send(ctx context.Context, from, to string, msg []byte) error {
	host, port, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("smtp: address %q: %w", s.Addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	var conn net.Conn
	if port == "465" {
		d := &tls.Dialer{NetDialer: &net.Dialer{}, Config: s.tlsConfig(host)}
		conn, err = d.DialContext(ctx, "tcp", s.Addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", s.Addr)
	}
	if err != nil {
		return fmt.Errorf("smtp: connect %s: %w", s.Addr, err)
	}
	// The deadline bounds every read and write; cancelling ctx (shutdown)
	// cuts a conversation that hangs.
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(helloName()); err != nil {
		return fmt.Errorf("smtp: EHLO: %w", err)
	}
	if _, isTLS := conn.(*tls.Conn); !isTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig(host)); err != nil {
				return fmt.Errorf("smtp: STARTTLS: %w", err)
			}
		}
	}
	if s.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("smtp: the server offers no AUTH, but SMTP_USERNAME is set")
		}
		// PlainAuth itself refuses to send the password over a connection
		// that is neither TLS nor to localhost.
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return fmt.Errorf("smtp: AUTH: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return classify("MAIL FROM", err)
	}
	if err := c.Rcpt(to); err != nil {
		return classify("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	// The message is accepted once DATA ends with 250; a failed QUIT
	// does not make it undelivered.
	_ = c.Quit()
	return nil
}

// classify marks a 5xx reply to an address as permanent.
func classify(stage string, err error) error {
	err = fmt.Errorf("smtp: %s: %w", stage, err)
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && te.Code < 600 {
		return &PermanentError{Err: err}
	}
	return err
}

// helloName is the name the client gives in EHLO: this machine's name
// when it looks like a domain name, else what net/smtp would say.
func helloName() string {
	if h, err := os.Hostname(); err == nil && strings.Contains(h, ".") && !strings.ContainsAny(h, " \r\n") {
		return h
	}
	return "localhost"
}

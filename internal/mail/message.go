package mail

import (
	"bytes"
	"encoding/base64"
	"mime"
	"net/mail"
	"strings"
	"time"
)

// Message is one email to compose.
type Message struct {
	From      *mail.Address
	To        string
	Subject   string
	Body      string // plain text, any line endings
	Date      time.Time
	MessageID string // without angle brackets
}

// Bytes renders the message as RFC 5322 text with MIME headers: UTF-8
// plain text, the body in base64 (Chinese text survives any relay, lines
// stay short), the Subject and a non-ASCII sender name as RFC 2047 encoded
// words (mime.QEncoding), CRLF line endings. Header values come from the
// configuration and the outbox, whose addresses the database checks; line
// breaks are removed all the same so no value can start a header of its
// own.
func (m Message) Bytes() []byte {
	var b bytes.Buffer
	header := func(name, value string) {
		value = strings.NewReplacer("\r", "", "\n", " ").Replace(value)
		b.WriteString(name + ": " + value + "\r\n")
	}
	header("From", m.From.String())
	header("To", (&mail.Address{Address: m.To}).String())
	// A long subject becomes several encoded words; folding between them
	// keeps header lines short (the folding space is not part of the text).
	subject := mime.QEncoding.Encode("utf-8", strings.NewReplacer("\r", "", "\n", " ").Replace(m.Subject))
	b.WriteString("Subject: " + strings.ReplaceAll(subject, "?= =?", "?=\r\n =?") + "\r\n")
	header("Date", m.Date.Format(time.RFC1123Z))
	header("Message-ID", "<"+m.MessageID+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "base64")
	// RFC 3834: a notification, not a person; no auto-replies please.
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(body))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	if enc != "" {
		b.WriteString(enc + "\r\n")
	}
	return b.Bytes()
}

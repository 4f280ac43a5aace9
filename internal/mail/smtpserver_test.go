package mail

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpServer is a tiny SMTP server on a loopback port for the tests: it
// speaks enough of RFC 5321 for net/smtp (EHLO, STARTTLS, AUTH PLAIN,
// MAIL, RCPT, DATA, RSET, NOOP, QUIT), records what it receives, and can
// be told to refuse recipients.
type smtpServer struct {
	t    *testing.T
	ln   net.Listener
	addr string

	tls        *tls.Config // non-nil: offer STARTTLS
	user, pass string      // non-empty: require AUTH PLAIN before MAIL

	mu       sync.Mutex
	received []received
	rcpts    map[string]int // RCPT attempts per address
	// refuse returns the reply to the n-th RCPT (1-based) of an address,
	// "" to accept it.
	refuse func(to string, n int) string
	wg     sync.WaitGroup
}

type received struct {
	from, to string
	data     string // as read by textproto's DotReader: dot-unstuffed, LF line ends
	tls      bool
	authed   bool
}

func newSMTPServer(t *testing.T) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{t: t, ln: ln, addr: ln.Addr().String(), rcpts: map[string]int{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(conn)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.received...)
}

// set changes the server's behaviour for the connections that follow.
func (s *smtpServer) set(f func(s *smtpServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *smtpServer) serve(conn net.Conn) {
	defer func() { conn.Close() }()
	s.mu.Lock()
	tlsConfig, user, pass := s.tls, s.user, s.pass
	s.mu.Unlock()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	tc := textproto.NewConn(conn)
	reply := func(format string, args ...any) { _ = tc.PrintfLine(format, args...) }
	reply("220 test.local ESMTP ready")
	var from string
	var to []string
	isTLS, authed := false, false
	for {
		line, err := tc.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			ext := []string{"test.local greets you", "8BITMIME"}
			if tlsConfig != nil && !isTLS {
				ext = append(ext, "STARTTLS")
			}
			if user != "" {
				ext = append(ext, "AUTH PLAIN")
			}
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				reply("250%s%s", sep, e)
			}
		case "STARTTLS":
			if tlsConfig == nil || isTLS {
				reply("502 5.5.1 not offered")
				continue
			}
			reply("220 2.0.0 go ahead")
			tlsConn := tls.Server(conn, tlsConfig)
			if err := tlsConn.Handshake(); err != nil {
				return
			}
			conn, tc, isTLS = tlsConn, textproto.NewConn(tlsConn), true
			reply = func(format string, args ...any) { _ = tc.PrintfLine(format, args...) }
		case "AUTH":
			mech, initial, _ := strings.Cut(arg, " ")
			raw, err := base64.StdEncoding.DecodeString(initial)
			if !strings.EqualFold(mech, "PLAIN") || err != nil || string(raw) != "\x00"+user+"\x00"+pass {
				reply("535 5.7.8 authentication failed")
				continue
			}
			authed = true
			reply("235 2.7.0 authenticated")
		case "MAIL":
			if user != "" && !authed {
				reply("530 5.7.0 authentication required")
				continue
			}
			from, to = angle(arg), nil
			reply("250 2.1.0 ok")
		case "RCPT":
			addr := angle(arg)
			s.mu.Lock()
			s.rcpts[addr]++
			n := s.rcpts[addr]
			refuse := s.refuse
			s.mu.Unlock()
			if refuse != nil {
				if r := refuse(addr, n); r != "" {
					reply("%s", r)
					continue
				}
			}
			to = append(to, addr)
			reply("250 2.1.5 ok")
		case "DATA":
			if from == "" || len(to) == 0 {
				reply("503 5.5.1 need MAIL and RCPT first")
				continue
			}
			reply("354 end with <CRLF>.<CRLF>")
			data, err := tc.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			for _, rcpt := range to {
				s.received = append(s.received, received{from: from, to: rcpt, data: string(data), tls: isTLS, authed: authed})
			}
			s.mu.Unlock()
			from, to = "", nil
			reply("250 2.0.0 queued")
		case "RSET":
			from, to = "", nil
			reply("250 2.0.0 ok")
		case "NOOP":
			reply("250 2.0.0 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("502 5.5.2 unknown command")
		}
	}
}

// angle extracts the address of "FROM:<a@b>" or "TO:<a@b> PARAM".
func angle(arg string) string {
	i, j := strings.IndexByte(arg, '<'), strings.IndexByte(arg, '>')
	if i < 0 || j < i {
		return ""
	}
	return arg[i+1 : j]
}

// selfSigned returns a server certificate for 127.0.0.1 and a client
// config that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test.local"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

func (r received) String() string { return fmt.Sprintf("%s → %s (tls %v)", r.from, r.to, r.tls) }

package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// The second factor is TOTP (RFC 6238) as common authenticator apps do it:
// SHA-1, 6 digits, 30-second steps. A code is accepted for the step before
// and after now as well (clock drift), and never for a step at or before
// the last one accepted, so a code cannot be replayed within its window.
const (
	TOTPPeriod = 30 * time.Second
	totpSkew   = 1
	// RecoveryCodeCount codes are issued at enrolment, each usable once.
	RecoveryCodeCount = 10
)

var totpOpts = totp.ValidateOpts{Period: uint(TOTPPeriod / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns a random 160-bit secret as base32 (32 characters),
// the form authenticator apps take.
func NewTOTPSecret() string {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic("auth: crypto/rand failed: " + err.Error())
	}
	return b32.EncodeToString(b)
}

// NormalizeTOTPSecret upper-cases a typed secret and drops spaces and
// padding; ok is false when it is not base32 of at least 80 bits.
func NormalizeTOTPSecret(s string) (string, bool) {
	s = strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "=", "").Replace(strings.TrimSpace(s)))
	b, err := b32.DecodeString(s)
	return s, err == nil && len(b) >= 10 && len(s) <= 128
}

// TOTPStep is the number of the 30-second step t falls in.
func TOTPStep(t time.Time) int64 { return t.Unix() / int64(TOTPPeriod/time.Second) }

// TOTPCode returns the code of secret at t (for tests, the demo and
// `server totp`).
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totpOpts)
}

// MatchTOTP checks a typed code against secret at now. It returns the step
// the code belongs to when it is right for a step within the window and
// after lastStep (the last accepted); replayed is true when the code is
// right but its step was already used.
func MatchTOTP(secret, code string, now time.Time, lastStep int64) (step int64, ok, replayed bool) {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return 0, false, false
	}
	cur := TOTPStep(now)
	for s := cur - totpSkew; s <= cur+totpSkew; s++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*int64(TOTPPeriod/time.Second), 0), totpOpts)
		if err != nil {
			return 0, false, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			if s <= lastStep {
				replayed = true
				continue
			}
			return s, true, false
		}
	}
	return 0, false, replayed
}

// TOTPURL is the otpauth:// URL an authenticator app scans.
func TOTPURL(issuer, account, secret string) (string, error) {
	k, err := totpKey(issuer, account, secret)
	if err != nil {
		return "", err
	}
	return k.URL(), nil
}

func totpKey(issuer, account, secret string) (*otp.Key, error) {
	raw, err := b32.DecodeString(secret)
	if err != nil {
		return nil, err
	}
	return totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Secret: raw,
		Period: totpOpts.Period, Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm})
}

// TOTPQRCode renders the otpauth:// URL as a PNG QR code, server-side, as
// a data: URL for an <img> (the CSP allows img-src data:).
func TOTPQRCode(issuer, account, secret string) (string, error) {
	k, err := totpKey(issuer, account, secret)
	if err != nil {
		return "", err
	}
	img, err := k.Image(240, 240)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// NewRecoveryCodes returns RecoveryCodeCount codes of 80 random bits each,
// written as four groups of four (xxxx-xxxx-xxxx-xxxx, lower-case base32).
func NewRecoveryCodes() []string {
	codes := make([]string, RecoveryCodeCount)
	for i := range codes {
		b := make([]byte, 10)
		if _, err := rand.Read(b); err != nil {
			panic("auth: crypto/rand failed: " + err.Error())
		}
		s := strings.ToLower(b32.EncodeToString(b))
		codes[i] = s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
	}
	return codes
}

// RecoveryCodeHash is what the database stores for a recovery code: a
// SHA-256 of the code without its dashes, spaces or case (80 random bits
// need no slow hash).
func RecoveryCodeHash(code string) []byte {
	c := strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	h := sha256.Sum256([]byte("ite-recovery:" + c))
	return h[:]
}

// LooksLikeRecoveryCode tells a recovery code (16 base32 characters, with
// or without dashes) from a 6-digit TOTP code.
func LooksLikeRecoveryCode(code string) bool {
	c := strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code))
	_, err := b32.DecodeString(strings.ToUpper(c))
	return len(c) == 16 && err == nil
}

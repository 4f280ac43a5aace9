package auth

import (
	"strings"
	"testing"
	"time"

	"ite/internal/applications"
)

func TestTOTP(t *testing.T) {
	secret := NewTOTPSecret()
	now := time.Date(2026, 12, 3, 8, 0, 10, 0, time.UTC)
	code, err := TOTPCode(secret, now)
	if err != nil || len(code) != 6 {
		t.Fatalf("code %q err %v", code, err)
	}
	t.Run("RightCodeAccepted", func(t *testing.T) {
		step, ok, _ := MatchTOTP(secret, code, now, 0)
		if !ok || step != TOTPStep(now) {
			t.Fatalf("ok=%v step=%d", ok, step)
		}
	})
	t.Run("PreviousStepAcceptedForDrift", func(t *testing.T) {
		if _, ok, _ := MatchTOTP(secret, code, now.Add(TOTPPeriod), 0); !ok {
			t.Fatal("code of the step before refused")
		}
	})
	t.Run("OldCodeRefused", func(t *testing.T) {
		if _, ok, _ := MatchTOTP(secret, code, now.Add(3*TOTPPeriod), 0); ok {
			t.Fatal("code from 90 s ago accepted")
		}
	})
	t.Run("ReplayRefused", func(t *testing.T) {
		_, ok, replayed := MatchTOTP(secret, code, now, TOTPStep(now))
		if ok || !replayed {
			t.Fatalf("ok=%v replayed=%v", ok, replayed)
		}
	})
	t.Run("WrongCodeRefused", func(t *testing.T) {
		for _, bad := range []string{"", "12345", "abcdef", "1234567"} {
			if _, ok, _ := MatchTOTP(secret, bad, now, 0); ok {
				t.Errorf("%q accepted", bad)
			}
		}
	})
	t.Run("RFC6238Vector", func(t *testing.T) {
		// RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); the
		// 6-digit code is its last six.
		s := b32.EncodeToString([]byte("12345678901234567890"))
		if got, _ := TOTPCode(s, time.Unix(59, 0)); got != "287082" {
			t.Fatalf("code %q", got)
		}
	})
	t.Run("QRCodeIsPNG", func(t *testing.T) {
		u, err := TOTPQRCode("ITE", "staff", secret)
		if err != nil || !strings.HasPrefix(u, "data:image/png;base64,") {
			t.Fatalf("%.40s %v", u, err)
		}
	})
}

func TestRecoveryCodes(t *testing.T) {
	codes := NewRecoveryCodes()
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 19 || seen[c] || !LooksLikeRecoveryCode(c) {
			t.Fatalf("bad code %q", c)
		}
		seen[c] = true
	}
	if len(codes) != RecoveryCodeCount {
		t.Fatalf("%d codes", len(codes))
	}
	if string(RecoveryCodeHash(codes[0])) != string(RecoveryCodeHash(strings.ToUpper(strings.ReplaceAll(codes[0], "-", "")))) {
		t.Fatal("hash depends on dashes or case")
	}
	if LooksLikeRecoveryCode("123456") {
		t.Fatal("a TOTP code taken for a recovery code")
	}
}

func TestPolicy(t *testing.T) {
	p := DefaultPolicy
	if !p.RequiresSecondFactor(applications.RoleStaff) || !p.RequiresSecondFactor(applications.RoleSecurityAdmin) ||
		p.RequiresSecondFactor(applications.RoleEnterprise) || p.RequiresSecondFactor(applications.RoleExpert) {
		t.Fatal("second factor roles")
	}
	p.SecondFactorForAll = true
	if !p.RequiresSecondFactor(applications.RoleExpert) {
		t.Fatal("for all: expert not required")
	}
	changed := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if p.PasswordExpired(changed, changed.AddDate(0, 0, 89)) || !p.PasswordExpired(changed, changed.AddDate(0, 0, 90)) {
		t.Fatal("90-day expiry")
	}
	p.PasswordMaxAge = 0
	if p.PasswordExpired(changed, changed.AddDate(10, 0, 0)) {
		t.Fatal("0 means never")
	}
	p.PasswordMinLength = 14
	if err := p.CheckPassword("Abcdefgh-12"); applications.ErrorKind(err) != applications.Invalid {
		t.Fatalf("short for the policy: %v", err)
	}
	if err := DefaultPolicy.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := DefaultPolicy
	bad.IdleTimeout = 13 * time.Hour
	if bad.Validate() == nil {
		t.Fatal("idle above absolute accepted")
	}
}

package auth

import (
	"time"

	"ite/internal/applications"
)

// User is a signed-in person as the web layer needs them.
type User struct {
	ID           int64
	Username     string
	DisplayName  string
	Role         applications.Role
	EnterpriseID int64 // 0 unless the user is bound to an enterprise
	Enterprise   string
	Email        string // "" when none; notifications are also mailed to it
	Disabled     bool
	LockedUntil  time.Time // zero when not locked
	CreatedAt    time.Time

	// Issue 16: password life and the second factor.
	MustChangePassword bool      // set by someone else: change it before anything else
	PasswordChangedAt  time.Time //
	TOTPEnrolled       bool      // a TOTP secret is stored

	// Platform is the 统一社会信用代码 of the holding platform a trustee
	// works for (issue 18); "" for every other role.
	Platform string
}

// Session is a signed-in browser. The cookie holds the token; the database
// holds its hash.
type Session struct {
	User       User
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	Policy     Policy // the security policy in force, read with the session
}

// Session lifetimes (issue 2): 30 minutes idle, 12 hours at most, the
// defaults of the security policy the security admin sets (issue 16).
const (
	IdleTimeout      = 30 * time.Minute
	AbsoluteLifetime = 12 * time.Hour
	// touchInterval limits last-seen writes to one a minute per session so
	// a busy page does not write on every request.
	TouchInterval = time.Minute
)

// Lockout policy: after MaxFailedLogins consecutive failures the account
// is locked for LockoutDuration.
const (
	MaxFailedLogins = 5
	LockoutDuration = 30 * time.Minute
)

// Expired reports whether the session is past its idle or absolute limit
// under its policy (a limit shortened since sign-in applies at once).
func (s Session) Expired(now time.Time) bool {
	p := s.Policy
	if p.IdleTimeout == 0 {
		p = DefaultPolicy
	}
	return !now.Before(s.ExpiresAt) || !now.Before(s.CreatedAt.Add(p.AbsoluteLifetime)) ||
		!now.Before(s.LastSeenAt.Add(p.IdleTimeout))
}

// NeedsPasswordChange reports why the user must change their password
// before anything else: "reset" when someone else set it, "expired" when
// it is past the policy's age, "" when neither.
func (s Session) NeedsPasswordChange(now time.Time) string {
	switch {
	case s.User.MustChangePassword:
		return "reset"
	case s.Policy.PasswordExpired(s.User.PasswordChangedAt, now):
		return "expired"
	}
	return ""
}

// NeedsEnrolment reports whether the user must enrol a second factor
// before anything else.
func (s Session) NeedsEnrolment() bool {
	return !s.User.TOTPEnrolled && s.Policy.RequiresSecondFactor(s.User.Role)
}

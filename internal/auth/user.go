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
}

// Session is a signed-in browser. The cookie holds the token; the database
// holds its hash.
type Session struct {
	User       User
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// Session lifetimes (issue 2): 30 minutes idle, 12 hours at most.
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

// Expired reports whether the session is past its idle or absolute limit.
func (s Session) Expired(now time.Time) bool {
	return !now.Before(s.ExpiresAt) || !now.Before(s.LastSeenAt.Add(IdleTimeout))
}

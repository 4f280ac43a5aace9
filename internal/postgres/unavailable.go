package postgres

import (
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"
)

// Unavailable reports whether err means the database cannot be reached or
// is going away, rather than that a statement failed: the server should
// answer 503 and ask the user to try again later, not 500. It is true for
//
//   - a failed connection attempt (*pgconn.ConnectError: connection
//     refused, no such host, the database dropped, too many clients,
//     the server starting up, a timeout while connecting, including the
//     context deadline of a request that waited for a new connection);
//   - a server error of class 08 (connection exception), 57P01
//     admin_shutdown, 57P02 crash_shutdown or 57P03 cannot_connect_now;
//   - a connection that broke in the middle of a statement (a network
//     error or an unexpected end of input inside a pgconn error, as when
//     PostgreSQL is stopped under an open connection);
//   - a closed pool (the server is shutting down).
//
// Anything else (constraint violations, bad input, a statement timeout,
// a cancelled request) is not an outage.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	if errors.Is(err, puddle.ErrClosedPool) {
		return true
	}
	// pgconn's own errors (they say whether a retry is safe) wrap the
	// network failure that broke a connection; a bare net or EOF error is
	// not ours to judge (it may be the client's request body).
	var fromPgconn interface{ SafeToRetry() bool }
	if errors.As(err, &fromPgconn) {
		var netErr net.Error
		if errors.As(err, &netErr) && !netErr.Timeout() {
			return true
		}
		return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
	}
	return false
}

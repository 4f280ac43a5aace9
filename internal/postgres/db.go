// Package postgres holds every SQL statement of the application (pgx v5,
// no ORM). One file per resource, named as in internal/server and web/page
// (experts.go, panels.go, reviews.go, decisions.go, notices.go, ...); the
// rules live in internal/applications, the store loads, calls them and
// saves. A money movement, its ledger entry and its audit row are written
// in one transaction.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"ite/internal/applications"
)

// DB is the application's handle on PostgreSQL.
type DB struct {
	Pool *pgxpool.Pool
	// Now is the clock; tests inject a fake one to move time.
	Now func() time.Time
}

// Open connects a pool and checks the server answers.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	return New(pool), nil
}

// New wraps an existing pool.
func New(pool *pgxpool.Pool) *DB { return &DB{Pool: pool, Now: time.Now} }

// Close releases the pool.
func (db *DB) Close() { db.Pool.Close() }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) (err error) {
	defer wrap(&err, "Ping")
	return db.Pool.Ping(ctx)
}

// inTx runs fn in a READ COMMITTED transaction, committing when fn returns
// nil and rolling back otherwise, so nothing is ever written half-way.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return mapError(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	if err := fn(tx); err != nil {
		return mapError(err)
	}
	return mapError(tx.Commit(ctx))
}

// constraintMessages gives the user-facing message for a named constraint.
// Handlers and domain code validate first; these catch what slips through
// (and races, such as two people registering the same 信用代码 at once).
var constraintMessages = map[string]string{
	"enterprises_uscc_key":        "该统一社会信用代码已注册，请直接登录或联系本企业已有账号添加同事。",
	"users_username_key":          "该用户名已被使用，请换一个。",
	"users_username_check":        "用户名须为 3–64 位小写字母、数字或 . _ -。",
	"users_enterprise_role_check": "只有企业用户可以绑定企业。",
	"users_enterprise_fkey":       "所选企业不存在。",
}

// constraintMessage is the Chinese message for a named constraint, from
// the table of the area that owns it (users and enterprises here, the
// money tables in ledger.go, corrections in reversals.go).
func constraintMessage(name string) (string, bool) {
	for _, m := range []map[string]string{constraintMessages, ledgerConstraintMessages, reversalConstraintMessages} {
		if msg, ok := m[name]; ok {
			return msg, true
		}
	}
	return "", false
}

// mapError turns pgx errors into application errors: no rows → NotFound,
// unique violations → Conflict, check violations → Invalid, named by
// constraint. Anything else stays an internal error.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	var appErr *applications.Error
	if errors.As(err, &appErr) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &applications.Error{Kind: applications.NotFound, Message: "记录不存在或您无权查看。", Err: err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		msg, known := constraintMessage(pgErr.ConstraintName)
		switch pgErr.Code {
		case "23505":
			if !known {
				msg = "记录已存在，请勿重复提交。"
			}
			return &applications.Error{Kind: applications.Conflict, Message: msg, Err: err}
		case "23514", "23502", "22001", "22003", "23503":
			if !known {
				msg = "提交的数据不符合要求，请检查后重试。"
			}
			return &applications.Error{Kind: applications.Invalid, Message: msg, Err: err}
		case "22021", "22P05", "22P02", "22008", "22007", "22023":
			// bad text (a NUL byte, invalid UTF-8), malformed JSON or dates
			// that slipped past the form checks: the user's input, not ours
			return &applications.Error{Kind: applications.Invalid, Message: "提交的内容含有无法保存的字符或格式，请检查后重新输入。", Err: err}
		case "40001", "40P01":
			return &applications.Error{Kind: applications.Conflict, Message: "有他人同时在操作该记录，请刷新后重试。", Err: err}
		case "42501": // refused by a guard trigger: an insert-only table, a decided record
			if !known {
				msg = "台账与审计记录只能追加，不能修改或删除。"
			}
			return &applications.Error{Kind: applications.Forbidden, Message: msg, Err: err}
		}
	}
	return err
}

// wrap names the store operation that failed, and its record, in *errp
// (pkgsite's derrors.Wrap): every exported method defers it, so a logged
// failure reads "ApproveDisbursement 12: ...". It is a plain prefix: the
// cause stays reachable with errors.Is and errors.As (an *applications.Error's
// kind, field and user message with applications.ErrorKind, ErrorMessage or
// errors.As), never with a type assertion.
func wrap(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf(format+": %w", append(args, *errp)...)
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// Connect opens one connection outside the pool, for a LISTEN that holds
// its connection for good (see package pagecache).
func (db *DB) Connect(ctx context.Context) (_ *pgx.Conn, err error) {
	defer wrap(&err, "Connect")
	return pgx.ConnectConfig(ctx, db.Pool.Config().ConnConfig.Copy())
}

// Notify sends a notification on channel with payload, committed at once
// (the page cache's heartbeat; change notifications come from triggers).
func (db *DB) Notify(ctx context.Context, channel, payload string) (err error) {
	defer wrap(&err, "Notify")
	_, err = db.Pool.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, payload)
	return err
}

// applicationOf runs a one-row application_id lookup for the handlers
// addressed by a child record's ID (DecisionApplication,
// ObjectionApplication, AgreementApplication, EventApplication) that go back
// to the project's page: pgx.ErrNoRows is NotFound with the message given;
// any other failure (a dropped connection, a cancelled request) is an error
// naming op and id, so it is reported as a 500, never as "not found".
func (db *DB) applicationOf(ctx context.Context, op, query string, id int64, notFound string) (int64, error) {
	var appID int64
	err := db.Pool.QueryRow(ctx, query, id).Scan(&appID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, applications.Errorf(applications.NotFound, "%s", notFound)
	case err != nil:
		return 0, fmt.Errorf("%s %d: %w", op, id, err)
	}
	return appID, nil
}

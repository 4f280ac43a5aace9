package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/audit"
	"ite/internal/suite"
)

// The installation's CRYPTO choice (migration 000011): recorded once, read
// by every writer of the ledger and audit chains.

// CryptoMismatchError: the configured CRYPTO is not the one this
// installation recorded. Its message is for the start-up log, Chinese
// then English.
type CryptoMismatchError struct {
	Recorded, Configured suite.Suite
	Since                time.Time
}

func (e *CryptoMismatchError) Error() string {
	day := e.Since.In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	return fmt.Sprintf("本系统已于 %s 选定密码算法 CRYPTO=%s，现配置为 CRYPTO=%s。算法一经选定不能更改：已存的哈希链和密文仍按各自记录的算法校验，"+
		"但新记录须沿用同一算法。请将 CRYPTO 改回 %s 后重新启动。"+
		" / This installation chose CRYPTO=%s on %s and is now configured with CRYPTO=%s; the choice is made once. Set CRYPTO=%s and start again.",
		day, e.Recorded, e.Configured, e.Recorded, e.Recorded, day, e.Configured, e.Recorded)
}

// RecordCrypto makes s the installation's choice if none is recorded yet,
// with an audit row saying so, and otherwise checks s against the choice
// recorded. Every command that opens the database calls it first, so the
// first start decides: on a new database, or on one upgraded from before
// migration 000011, whose chains then continue under s (an intl
// installation that starts with CRYPTO=gm switches there: its older rows
// keep their sha256-v1 and still verify). Once a choice is recorded it
// only reads, so the verify commands still run on a read-only standby. Two
// servers starting at once with different choices cannot both win: the
// second waits for the first's row and is refused.
//
// Errors: *CryptoMismatchError when s differs from the recorded choice.
func (db *DB) RecordCrypto(ctx context.Context, s suite.Suite, actor audit.Actor) (err error) {
	defer wrap(&err, "RecordCrypto %s", s)
	var recorded string
	var since time.Time
	const read = `SELECT mode, recorded_at FROM crypto_settings`
	err = db.Pool.QueryRow(ctx, read).Scan(&recorded, &since)
	if errors.Is(err, pgx.ErrNoRows) {
		err = db.inTx(ctx, func(tx pgx.Tx) error {
			now := db.Now()
			tag, err := tx.Exec(ctx, `INSERT INTO crypto_settings (mode, recorded_at) VALUES ($1, $2)
				ON CONFLICT (id) DO NOTHING`, s.String(), now)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 { // another server recorded one meanwhile
				return tx.QueryRow(ctx, read).Scan(&recorded, &since)
			}
			recorded = s.String()
			return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "crypto_recorded", ObjectType: "installation",
				Outcome: audit.Success, Detail: map[string]any{"crypto": s.String(), "chain_hash": s.ChainHash()}})
		})
	}
	if err != nil {
		return err
	}
	if rs := suite.Suite(recorded); rs.String() != s.String() {
		return &CryptoMismatchError{Recorded: rs, Configured: s, Since: since}
	}
	return nil
}

// Crypto is the installation's recorded choice; Intl while none is
// recorded (a database no command has started on since migration 000011).
func (db *DB) Crypto(ctx context.Context) (_ suite.Suite, err error) {
	defer wrap(&err, "Crypto")
	var mode string
	err = db.Pool.QueryRow(ctx, `SELECT COALESCE((SELECT mode FROM crypto_settings), 'intl')`).Scan(&mode)
	if err != nil {
		return "", err
	}
	return suite.Parse(mode)
}

// lockChain takes the transaction-scoped advisory lock that serialises
// appends to one chain (ledgerChainLock, auditChainLock) and, in the same
// round trip, reads the hash algorithm new rows of the chain get: the
// recorded CRYPTO's, sha256-v1 while none is recorded.
func lockChain(ctx context.Context, tx pgx.Tx, lock int64) (alg string, err error) {
	var mode string
	if err := tx.QueryRow(ctx, `SELECT COALESCE((SELECT mode FROM crypto_settings), 'intl') FROM pg_advisory_xact_lock($1)`,
		lock).Scan(&mode); err != nil {
		return "", err
	}
	s, err := suite.Parse(mode)
	return s.ChainHash(), err
}

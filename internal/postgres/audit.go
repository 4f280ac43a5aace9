package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/audit"
)

// auditChainLock is the advisory lock key that serialises audit inserts so
// two transactions can never append to the same chain head.
const auditChainLock = 7_301_001

// appendAudit writes one audit row inside tx. It takes a transaction-scoped
// advisory lock, reads the head and chains onto it, hashed as the recorded
// CRYPTO says; the lock is released at commit, so the business change and
// its audit row land together or not at all.
func appendAudit(ctx context.Context, tx pgx.Tx, now time.Time, e audit.Event) error {
	alg, err := lockChain(ctx, tx, auditChainLock)
	if err != nil {
		return err
	}
	prevSeq, prevHash := int64(0), audit.GenesisHash
	err = tx.QueryRow(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&prevSeq, &prevHash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	r, err := audit.NewRecordWith(alg, e, now, prevSeq, prevHash)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO audit_log (seq, at, actor_id, actor_name, actor_role, ip, request_id, event,
		                       object_type, object_id, outcome, detail, prev_hash, hash, hash_alg)
		VALUES ($1, $2, NULLIF($3, 0), $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		r.Seq, r.At, r.ActorID, r.ActorName, r.ActorRole, r.IP, r.RequestID, r.Event,
		r.ObjectType, r.ObjectID, r.Outcome, string(r.Detail), r.PrevHash, r.Hash, r.HashAlg)
	return err
}

// RecordAudit writes one audit row in its own transaction, for events that
// change nothing else (a refused request, a document view, a failed login).
func (db *DB) RecordAudit(ctx context.Context, e audit.Event) (err error) {
	defer wrap(&err, "RecordAudit")
	return db.inTx(ctx, func(tx pgx.Tx) error { return appendAudit(ctx, tx, db.Now(), e) })
}

// AuditFilter selects audit rows for the auditor's view.
type AuditFilter struct {
	Event     string
	ActorID   int64
	Object    string // "type/id" or "type"
	BeforeSeq int64  // keyset pagination: rows with seq < BeforeSeq; 0 = newest
	Limit     int
}

// ListAudit returns audit rows newest first.
func (db *DB) ListAudit(ctx context.Context, f AuditFilter) (_ []audit.Record, err error) {
	defer wrap(&err, "ListAudit")
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	rows, err := db.Pool.Query(ctx, `
		SELECT `+auditColumns+` FROM audit_log
		WHERE ($1 = '' OR event = $1) AND ($2 = 0 OR actor_id = $2)
		  AND ($3 = '' OR object_type = split_part($3, '/', 1) AND (strpos($3, '/') = 0 OR object_id = split_part($3, '/', 2)))
		  AND ($4 = 0 OR seq < $4)
		ORDER BY seq DESC LIMIT $5`, f.Event, f.ActorID, f.Object, f.BeforeSeq, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanAudit)
}

const auditColumns = `seq, at, COALESCE(actor_id, 0), actor_name, actor_role, ip, request_id, event,
	object_type, object_id, outcome, detail::text, prev_hash, hash, hash_alg`

func scanAudit(row pgx.CollectableRow) (audit.Record, error) {
	var r audit.Record
	var detail string
	err := row.Scan(&r.Seq, &r.At, &r.ActorID, &r.ActorName, &r.ActorRole, &r.IP, &r.RequestID, &r.Event,
		&r.ObjectType, &r.ObjectID, &r.Outcome, &detail, &r.PrevHash, &r.Hash, &r.HashAlg)
	r.Detail = []byte(detail)
	return r, err
}

// VerifyAudit streams the whole chain through an audit.Verifier and
// returns how many rows were checked, or the first broken row.
func (db *DB) VerifyAudit(ctx context.Context) (_ int64, err error) {
	defer wrap(&err, "VerifyAudit")
	rows, err := db.Pool.Query(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	v := audit.NewVerifier()
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return v.Count, err
		}
		if err := v.Add(r); err != nil {
			return v.Count, err
		}
	}
	return v.Count, rows.Err()
}

// RecordAuditTrail returns the audit rows about one business record,
// oldest first: who recorded, approved or refused it, and when.
func (db *DB) RecordAuditTrail(ctx context.Context, objectType string, id int64) (_ []audit.Record, err error) {
	defer wrap(&err, "RecordAuditTrail %d", id)
	rows, _ := db.Pool.Query(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE object_type = $1 AND object_id = $2
		ORDER BY seq LIMIT 200`, objectType, strconv.FormatInt(id, 10))
	rs, err := pgx.CollectRows(rows, scanAudit)
	return rs, mapError(err)
}

// systemActor is the actor of rows the application writes by itself.
var systemActor = audit.Actor{Name: "系统", Role: "system"}

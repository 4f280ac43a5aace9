package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/audit"
	"ite/internal/ledger"
)

// Chain anchors (migration 000012): the signed heads of the ledger and
// audit chains. The store reads the heads as the chains record them (it
// does not re-hash: `ledger verify` and `audit verify` prove the stored
// hashes), keeps each signed anchor in chain_anchors, and checks a chain
// against an anchor. Signing and the copies outside the database are the
// caller's (internal/server).

// auditHead reads the audit chain's head inside q; the genesis head when
// the log is empty.
func auditHead(ctx context.Context, q ledgerQuerier) (ledger.ChainHead, error) {
	h := ledger.ChainHead{Seq: 0, Hash: audit.GenesisHash, Algorithm: audit.Algorithm}
	err := q.QueryRow(ctx, `SELECT seq, hash, hash_alg FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&h.Seq, &h.Hash, &h.Algorithm)
	if errors.Is(err, pgx.ErrNoRows) {
		err = nil
	}
	return h, err
}

// chainTables are the two chained tables, by the name an anchor gives them.
var chainTables = map[string]string{"ledger": "ledger_entries", "audit": "audit_log"}

// anchoredChain reads head's checkpoints from table.
func anchoredChain(ctx context.Context, q ledgerQuerier, table string, head ledger.ChainHead) (ledger.AnchoredChain, error) {
	c := ledger.AnchoredChain{Count: head.Seq, Seq: head.Seq, Hash: head.Hash, Algorithm: head.Algorithm}
	hashes, err := chainHashes(ctx, q, table, ledger.CheckpointSeqs(head.Seq))
	if err != nil {
		return c, err
	}
	for _, s := range ledger.CheckpointSeqs(head.Seq) {
		c.Checkpoints = append(c.Checkpoints, ledger.Checkpoint{Seq: s, Hash: hashes[s]})
	}
	return c, nil
}

// chainHashes returns the stored hashes of the entries seqs of table.
func chainHashes(ctx context.Context, q ledgerQuerier, table string, seqs []int64) (map[int64]string, error) {
	rows, err := q.Query(ctx, `SELECT seq, hash FROM `+table+` WHERE seq = ANY($1)`, seqs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int64]string, len(seqs))
	for rows.Next() {
		var s int64
		var h string
		if err := rows.Scan(&s, &h); err != nil {
			return nil, err
		}
		out[s] = h
	}
	return out, rows.Err()
}

// ChainHeads reads both chains' heads and checkpoints in one snapshot, for
// an anchor.
func (db *DB) ChainHeads(ctx context.Context) (ledgerChain, auditChain ledger.AnchoredChain, err error) {
	defer wrap(&err, "ChainHeads")
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		lh, err := ledgerHead(ctx, tx)
		if err != nil {
			return err
		}
		ah, err := auditHead(ctx, tx)
		if err != nil {
			return err
		}
		if ledgerChain, err = anchoredChain(ctx, tx, chainTables["ledger"], lh); err != nil {
			return err
		}
		auditChain, err = anchoredChain(ctx, tx, chainTables["audit"], ah)
		return err
	})
	return ledgerChain, auditChain, err
}

// StoredAnchor is one row of chain_anchors.
type StoredAnchor struct {
	ID        int64
	CreatedAt time.Time
	Reason    string
	Anchor    ledger.Anchor
	Body      []byte // the signed document, byte for byte
}

// SaveAnchor stores a signed anchor (doc is its document), queues it by
// email to every active auditor with an address, and audits it, in one
// transaction. It returns the row's ID.
func (db *DB) SaveAnchor(ctx context.Context, actor audit.Actor, a ledger.Anchor, doc []byte, subject, body string) (_ int64, err error) {
	defer wrap(&err, "SaveAnchor")
	var id int64
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		if err := tx.QueryRow(ctx, `INSERT INTO chain_anchors (created_at, reason, ledger_seq, ledger_hash, audit_seq, audit_hash,
			public_key, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, a.Issued(), a.Reason, a.Ledger.Seq, a.Ledger.Hash,
			a.Audit.Seq, a.Audit.Hash, a.PublicKey, string(doc)).Scan(&id); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO email_outbox (user_id, to_address, subject, body, link, created_at, next_attempt_at)
			SELECT id, email, $1, display_name || E'，您好：\n\n' || $2, '/ledger/verify', $3, $3
			FROM users WHERE role = 'auditor' AND email IS NOT NULL AND NOT disabled`, subject, body+"\n\n"+string(doc), now)
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "chain_anchor", ObjectType: "chain_anchor",
			ObjectID: itoa64(id), Outcome: audit.Success, Detail: map[string]any{"reason": a.Reason,
				"ledger": fmt.Sprintf("%d %s", a.Ledger.Seq, a.Ledger.Hash), "audit": fmt.Sprintf("%d %s", a.Audit.Seq, a.Audit.Hash),
				"emails": tag.RowsAffected()}})
	})
	return id, err
}

// LatestAnchor returns the newest stored anchor. Errors: NotFound (none
// yet).
func (db *DB) LatestAnchor(ctx context.Context) (_ StoredAnchor, err error) {
	defer wrap(&err, "LatestAnchor")
	return scanAnchor(db.Pool.QueryRow(ctx, `SELECT `+anchorColumns+` FROM chain_anchors ORDER BY id DESC LIMIT 1`))
}

// FindAnchor returns one stored anchor. Errors: NotFound.
func (db *DB) FindAnchor(ctx context.Context, id int64) (_ StoredAnchor, err error) {
	defer wrap(&err, "FindAnchor %d", id)
	return scanAnchor(db.Pool.QueryRow(ctx, `SELECT `+anchorColumns+` FROM chain_anchors WHERE id = $1`, id))
}

const anchorColumns = `id, created_at, reason, body`

func scanAnchor(row pgx.Row) (StoredAnchor, error) {
	var s StoredAnchor
	var body string
	if err := row.Scan(&s.ID, &s.CreatedAt, &s.Reason, &body); err != nil {
		return s, mapError(err)
	}
	s.Body = []byte(body)
	var err error
	s.Anchor, err = ledger.ParseAnchor(s.Body)
	return s, err
}

// AnchorCheck is the result of checking a chain against an anchor.
type AnchorCheck struct {
	OK         bool
	Difference ledger.Difference
	Problem    string // Chinese; "" when OK
}

// CheckAnchoredChain checks that the chain named chain ("ledger" or
// "audit") still extends anchored: that each anchored checkpoint is still
// in the table with the anchored hash. It reads the stored hashes in one
// snapshot; the anchor's signature is the caller's to check.
func (db *DB) CheckAnchoredChain(ctx context.Context, chain string, anchored ledger.AnchoredChain) (_ AnchorCheck, err error) {
	defer wrap(&err, "CheckAnchoredChain %s", chain)
	table, ok := chainTables[chain]
	if !ok {
		return AnchorCheck{}, fmt.Errorf("unknown chain %q", chain)
	}
	seqs := []int64{anchored.Seq}
	for _, c := range anchored.Checkpoints {
		seqs = append(seqs, c.Seq)
	}
	var current map[int64]string
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		var err error
		current, err = chainHashes(ctx, tx, table, seqs)
		return err
	})
	if err != nil {
		return AnchorCheck{}, err
	}
	d := anchored.Compare(current)
	c := AnchorCheck{OK: d.FirstBad == 0, Difference: d}
	if !c.OK {
		prefix, unit := "", "号凭证"
		if chain == "audit" {
			prefix, unit = "审计日志", "条"
		}
		c.Problem = d.Describe(prefix, unit) + "：数据库已不再延续锚定的链"
	}
	return c, nil
}

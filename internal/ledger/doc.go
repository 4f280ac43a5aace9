// Package ledger is the fund's double-entry ledger (台账, DOMAIN §11) as pure
// code: the chart of accounts, journal entries and their rules, builders for
// every business event, the hash chain, the trial balance, and the streaming
// CSV and XLSX encoders the auditors take away (DOMAIN §13). It does no I/O of
// its own (no database, no HTTP), so every rule can be tested in
// microseconds; internal/postgres stores what it builds, and checks the same
// invariants again in the database.
//
// # Accounts
//
// Eight accounts (Chart), each kept per programme (the fund: 1002, 3001,
// 6111, 6711, 6401) or per project (what the fund holds in a company: 1221,
// 1511, 1131). A sub-account is an AccountKey, code plus programme or
// application ID, written canonically as "<code>/<scope>/<id>":
// "1002/prog/7" is programme 7's fund bank account, "1221/app/123" the money
// invested in application 123 and not yet converted.
//
// # Entries
//
// An Entry has two or more Postings, each a positive amount (yuan, at most two
// decimals) on the debit or credit side of a sub-account, and Σ debits = Σ
// credits. Callers never assemble postings: Appropriation, Disbursement,
// Conversion, Exit, LapseToGrant, RecoveryReceivable, RecoveryReceipt and
// WriteOff build them, and Reverse builds the mirror entry that corrects a
// mistake (entries are never updated or deleted). Validate also checks that
// a kind posts only to its own accounts and sides, so a hand-made entry that
// slips past the builders is still caught.
//
// # Hash chain
//
// Seal appends an entry after the current ChainHead: the next sequence
// number, the previous entry's hash, and Hash = SHA-256 over the canonical
// encoding documented at AppendCanonical (algorithm "sha256-v1", stored per
// entry), or SM3 over the same encoding ("sm3-v1") in an installation that
// chose CRYPTO=gm. Verifier re-checks a ledger of any length one row at a
// time, each entry under the algorithm it names, and reports the first bad
// entry with a Chinese reason (ChainError).
//
// # Exports
//
// RowWriter streams rows from a cursor to CSV (CSVWriter: UTF-8 with BOM,
// RFC 4180, formula-injection safe, chain head in a footer line) or XLSX
// (XLSXWriter: typed cells, frozen header, chain head on a second sheet) in
// constant memory. A Table describes the columns; JournalTable and
// TrialBalanceTable are provided, and other exports (project register,
// audit log) define their own.
//
// # Errors
//
// Rule violations are *Error (Field, and a Message in Simplified Chinese that
// is safe to show); chain failures are *ChainError (Seq, Reason in Chinese).
package ledger

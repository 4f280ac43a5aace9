// Package suite is the installation's choice of cryptographic algorithms,
// made once in CRYPTO: intl (the default: SHA-256, AES-256-GCM) or gm
// (国密: SM3, GB/T 32905-2016, and SM4 in GCM mode, GB/T 32907-2016, from
// github.com/emmansun/gmsm).
//
// The choice decides only what new records are written with. Every stored
// record names its own algorithm (hash_alg on ledger entries and audit
// rows, enc_alg on documents, a prefix on sealed values), and every reader
// dispatches on that name, never on the setting: so a database that holds
// both kinds verifies and opens in either mode, and an installation that
// switches from intl to gm keeps its old records readable.
package suite

import (
	"crypto/sha256"
	"fmt"
	"hash"

	"github.com/emmansun/gmsm/sm3"
)

// Suite is a CRYPTO value. The zero value is Intl, so a caller that sets
// nothing gets today's algorithms.
type Suite string

const (
	Intl Suite = "intl"
	GM   Suite = "gm"
)

// Parse reads CRYPTO: "" or "intl" is Intl, "gm" is GM; anything else is
// an error naming both choices, for the start-up log.
func Parse(v string) (Suite, error) {
	switch Suite(v) {
	case "", Intl:
		return Intl, nil
	case GM:
		return GM, nil
	}
	return "", fmt.Errorf("CRYPTO 须为 intl（默认：SHA-256、AES-256-GCM）或 gm（国密：SM3、SM4-GCM），而不是 %q"+
		" / CRYPTO must be intl or gm, not %q", v, v)
}

// IsGM reports whether s chooses the 国密 algorithms.
func (s Suite) IsGM() bool { return s == GM }

// String is "intl" or "gm" (the zero value prints as "intl").
func (s Suite) String() string {
	if s.IsGM() {
		return string(GM)
	}
	return string(Intl)
}

// Chain hash algorithms, as stored in hash_alg of ledger_entries and
// audit_log. Each chain keeps its own canonical encoding (see packages
// ledger and audit); the name says which hash runs over it.
const (
	ChainSHA256 = "sha256-v1"
	ChainSM3    = "sm3-v1"
)

// ChainHash names the algorithm new chain rows are hashed with.
func (s Suite) ChainHash() string {
	if s.IsGM() {
		return ChainSM3
	}
	return ChainSHA256
}

// NewChainHash returns a fresh hash for a stored hash_alg, and false for a
// name it does not know. Both hashes are 32 bytes, so every hash column
// holds 64 hex digits whichever wrote it.
func NewChainHash(alg string) (hash.Hash, bool) {
	switch alg {
	case ChainSHA256:
		return sha256.New(), true
	case ChainSM3:
		return sm3.New(), true
	}
	return nil, false
}

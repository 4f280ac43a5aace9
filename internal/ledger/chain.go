package ledger

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"iter"
	"strconv"
	"time"

	"ite/internal/suite"
)

// HashAlgorithm names the default chain hash defined by AppendCanonical and
// Hash: SHA-256 over the v1 encoding. It is stored with every entry so that
// another algorithm can be used for new entries while old ones still verify
// under theirs.
const HashAlgorithm = suite.ChainSHA256

// HashSM3 is the same v1 encoding hashed with SM3 (GB/T 32905), what an
// installation with CRYPTO=gm seals its entries with.
const HashSM3 = suite.ChainSM3

// GenesisHash is the previous hash of entry 1: 64 zeros, the same length as
// every other hash so that columns and exports need no special case.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// createdAtLayout fixes the time encoding at exactly six fractional digits in
// UTC: RFC 3339, but with no trimming of zeros, so that one instant has one
// spelling, and microseconds because PostgreSQL keeps no more.
const createdAtLayout = "2006-01-02T15:04:05.000000Z"

// ChainHead identifies the end of the chain at some moment: the last entry's
// sequence number and hash. Exports carry it so an auditor can later prove the
// file was taken from the ledger as it then stood.
type ChainHead struct {
	Seq       int64  // 0 for an empty ledger
	Hash      string // GenesisHash for an empty ledger
	Algorithm string // HashAlgorithm
}

// Genesis is the head of an empty ledger.
func Genesis() ChainHead {
	return ChainHead{Seq: 0, Hash: GenesisHash, Algorithm: HashAlgorithm}
}

// Head is the chain head just after e.
func (e *Entry) Head() ChainHead {
	return ChainHead{Seq: e.Seq, Hash: e.Hash, Algorithm: e.HashAlg}
}

// String is "<seq> <algorithm>:<hash>", e.g. "42 sha256-v1:9f86d0…": the
// form printed at the end of a CSV export.
func (h ChainHead) String() string {
	h = h.normal()
	return strconv.FormatInt(h.Seq, 10) + " " + h.Algorithm + ":" + h.Hash
}

// normal fills in the zero ChainHead as the genesis head, so a caller that
// exports an empty ledger need not special-case it.
func (h ChainHead) normal() ChainHead {
	if h.Seq == 0 && h.Hash == "" {
		h.Hash = GenesisHash
	}
	if h.Algorithm == "" {
		h.Algorithm = HashAlgorithm
	}
	return h
}

// AppendCanonical appends the v1 canonical encoding of e, chained to prev
// (the previous entry's hash, lowercase hex), to dst and returns it.
//
// The encoding is a sequence of fields, each written as a 4-byte big-endian
// length followed by that many bytes of UTF-8. Length prefixes make it
// unambiguous whatever a memo contains. The fields, in order:
//
//	algorithm        e.HashAlg ("sha256-v1" when empty, or "sm3-v1"),
//	                 binding the algorithm into the hash
//	prev             the previous hash, hex as given
//	Seq              decimal
//	ValueDate        "YYYY-MM-DD" (its own year, month and day)
//	CreatedAt        UTC "YYYY-MM-DDTHH:MM:SS.ffffffZ", always 6 digits, truncated
//	Kind             e.g. "disbursement"
//	Memo
//	Record.Type
//	Record.ID        decimal
//	MakerID          decimal
//	CheckerID        decimal
//	Reverses         decimal, "0" when none
//	IdempotencyKey
//	len(Postings)    decimal
//
// then three fields per posting, in the order given (it is part of the entry):
//
//	account key      canonical "<code>/<scope>/<id>"
//	side             "debit" or "credit"
//	amount           exactly two decimals, e.g. "100000.00"
//
// Decimals are base 10 without sign or padding (IDs are positive; Seq and
// Reverses are non-negative). Nothing else of e (PrevHash, HashAlg, Hash) is
// encoded: prev is the link.
func AppendCanonical(dst []byte, prev string, e *Entry) []byte {
	var num [48]byte
	field := func(s string) {
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
		dst = append(dst, s...)
	}
	fieldBytes := func(b []byte) {
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
		dst = append(dst, b...)
	}
	intField := func(n int64) { fieldBytes(strconv.AppendInt(num[:0], n, 10)) }

	field(hashAlg(e))
	field(prev)
	intField(e.Seq)
	fieldBytes(appendDate(num[:0], e.ValueDate))
	fieldBytes(appendCreatedAt(num[:0], e.CreatedAt))
	field(string(e.Kind))
	field(e.Memo)
	field(e.Record.Type)
	intField(e.Record.ID)
	intField(e.MakerID)
	intField(e.CheckerID)
	intField(e.Reverses)
	field(e.IdempotencyKey)
	intField(int64(len(e.Postings)))
	for _, p := range e.Postings {
		// The account key is composed in place rather than via String to
		// keep the verifier free of per-posting allocations.
		key := append(num[:0], p.Account.Code...)
		key = append(key, '/')
		key = append(key, p.Account.Scope...)
		key = append(key, '/')
		key = strconv.AppendInt(key, p.Account.ID, 10)
		fieldBytes(key)
		field(string(p.Side))
		fieldBytes(appendMoney(num[:0], p.Amount))
	}
	return dst
}

// Hash is the hash of e chained to prev, as lowercase hex: the hash named
// by e.HashAlg (SHA-256 when empty) over AppendCanonical(nil, prev, e). It
// is "" when e.HashAlg names no known algorithm.
func Hash(prev string, e Entry) string {
	h, ok := suite.NewChainHash(hashAlg(&e))
	if !ok {
		return ""
	}
	h.Write(AppendCanonical(nil, prev, &e))
	return hex.EncodeToString(h.Sum(nil))
}

// hashAlg is the algorithm e is hashed with: its own, or HashAlgorithm
// when it names none.
func hashAlg(e *Entry) string {
	if e.HashAlg == "" {
		return HashAlgorithm
	}
	return e.HashAlg
}

// Seal makes e the entry after prev: it assigns Seq = prev.Seq+1, links
// PrevHash to prev.Hash, stamps HashAlg (the one the caller set, HashSM3
// under CRYPTO=gm, or HashAlgorithm when none), truncates CreatedAt to microseconds
// in UTC (so the stored value hashes the same when read back), validates e
// and computes Hash. The caller must hold whatever lock serialises appends,
// from reading prev until the insert commits, or the chain forks.
//
// It returns an *Error (Chinese message) when e is invalid, has no
// CreatedAt or names an unknown hash algorithm.
func Seal(prev ChainHead, e Entry) (Entry, error) {
	prev = prev.normal()
	if prev.Seq < 0 || !isHash(prev.Hash) {
		return Entry{}, errorf("prev", "链头无效：序号 %d，哈希 %q", prev.Seq, prev.Hash)
	}
	if e.CreatedAt.IsZero() {
		return Entry{}, errorf("created_at", "缺少记账时间")
	}
	e.Seq = prev.Seq + 1
	e.CreatedAt = e.CreatedAt.UTC().Truncate(time.Microsecond)
	e.PrevHash = prev.Hash
	e.HashAlg = hashAlg(&e)
	if _, ok := suite.NewChainHash(e.HashAlg); !ok {
		return Entry{}, errorf("hash_alg", "不支持的哈希算法 %q", e.HashAlg)
	}
	if err := e.Validate(); err != nil {
		return Entry{}, err
	}
	e.Hash = Hash(prev.Hash, e)
	return e, nil
}

// isHash reports whether s is 64 lowercase hex digits, the only form Hash
// produces.
func isHash(s string) bool {
	if len(s) != len(GenesisHash) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ChainError reports the first entry at which verification failed. Reason
// is Simplified Chinese, for the auditor's page and the verify command.
type ChainError struct {
	Seq    int64
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("第 %d 号凭证：%s", e.Seq, e.Reason)
}

// Verifier checks a ledger entry by entry, in sequence order, holding only
// the previous head: feed it rows from a database cursor and memory stays
// flat however long the ledger is. For each entry it checks that the
// sequence continues without a gap, the algorithm is known (each entry is
// hashed with the one it names, so a chain begun under SHA-256 and
// continued under SM3 verifies), PrevHash links
// to the previous entry's hash, the entry is valid (balanced, accounts in
// the chart, ...) and its hash recomputes. After the first failure every
// further Add returns that same error, so the first bad entry is the one
// reported.
type Verifier struct {
	head  ChainHead
	count int64
	err   *ChainError
	buf   []byte
	// h hashes entries of algorithm hAlg; sum is its output buffer.
	h    hash.Hash
	hAlg string
	sum  []byte
}

// NewVerifier starts at the genesis head: the first entry must be Seq 1.
func NewVerifier() *Verifier { return NewVerifierFrom(Genesis()) }

// NewVerifierFrom starts after a head already trusted (a checkpoint taken by
// an earlier full verification), so that only newer entries are checked.
func NewVerifierFrom(head ChainHead) *Verifier { return &Verifier{head: head.normal()} }

// Add checks the next entry. It returns a *ChainError.
func (v *Verifier) Add(e Entry) error {
	if v.err != nil {
		return v.err
	}
	fail := func(format string, args ...any) error {
		v.err = &ChainError{Seq: e.Seq, Reason: fmt.Sprintf(format, args...)}
		return v.err
	}
	if want := v.head.Seq + 1; e.Seq != want {
		return fail("序号不连续：应为第 %d 号，实际读到第 %d 号（凭证缺失、重复或顺序被调换）", want, e.Seq)
	}
	if e.HashAlg != v.hAlg {
		h, ok := suite.NewChainHash(e.HashAlg)
		if !ok {
			return fail("不支持的哈希算法 %q", e.HashAlg)
		}
		v.h, v.hAlg = h, e.HashAlg
	}
	if e.PrevHash != v.head.Hash {
		return fail("记录的前一哈希与第 %d 号凭证的哈希不一致，哈希链断裂", v.head.Seq)
	}
	if err := e.Validate(); err != nil {
		return fail("凭证不合规：%s", err.Error())
	}
	v.buf = AppendCanonical(v.buf[:0], v.head.Hash, &e)
	v.h.Reset()
	v.h.Write(v.buf)
	v.sum = v.h.Sum(v.sum[:0])
	var got [64]byte
	hex.Encode(got[:], v.sum)
	if string(got[:]) != e.Hash {
		return fail("哈希不符：凭证内容在记账后被改动")
	}
	v.head = ChainHead{Seq: e.Seq, Hash: e.Hash, Algorithm: e.HashAlg}
	v.count++
	return nil
}

// Head is the head after the last entry that verified.
func (v *Verifier) Head() ChainHead { return v.head }

// Count is the number of entries verified so far.
func (v *Verifier) Count() int64 { return v.count }

// Err is the first failure, or nil.
func (v *Verifier) Err() error {
	if v.err == nil {
		return nil
	}
	return v.err
}

// VerifyChain verifies a whole ledger from entry 1, in order. firstBad is
// the sequence number of the first entry that fails (0 when all pass), and
// err the *ChainError saying why. For slices use slices.Values.
func VerifyChain(entries iter.Seq[Entry]) (firstBad int64, err error) {
	v := NewVerifier()
	for e := range entries {
		if err := v.Add(e); err != nil {
			return e.Seq, err
		}
	}
	return 0, nil
}

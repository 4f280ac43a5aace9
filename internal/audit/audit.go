// Package audit defines the audit log record (DOMAIN §12) and its hash
// chain. It is pure: internal/postgres stores records, this package says
// what a record is and whether a sequence of them is intact.
package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"ite/internal/suite"
)

// Algorithm names the default canonical encoding and hash: SHA-256 over the
// v1 encoding. It is stored on every row so the encoding can evolve, or the
// hash change, without breaking old rows.
const Algorithm = suite.ChainSHA256

// AlgorithmSM3 is the same encoding hashed with SM3 (GB/T 32905), what an
// installation with CRYPTO=gm chains its rows with.
const AlgorithmSM3 = suite.ChainSM3

// GenesisHash is the previous hash of the first row.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// Outcomes of an audited event.
const (
	Success = "success"
	Failure = "failure"
	Refused = "refused"
)

// Actor is who did something, as the audit log remembers them. ID is 0
// for anonymous requests (a failed login, a refused CSRF check).
type Actor struct {
	ID        int64
	Name      string
	Role      string
	IP        string
	RequestID string
}

// Event is what a caller asks to be recorded. Detail carries before/after
// values where they apply; it must never contain passwords or full ID
// numbers.
type Event struct {
	Actor      Actor
	Name       string // e.g. "login", "user_role_change"
	ObjectType string
	ObjectID   string
	Outcome    string
	Detail     map[string]any
}

// Record is one stored row of the chain.
type Record struct {
	Seq        int64
	At         time.Time
	ActorID    int64
	ActorName  string
	ActorRole  string
	IP         string
	RequestID  string
	Event      string
	ObjectType string
	ObjectID   string
	Outcome    string
	Detail     []byte // JSON object
	PrevHash   string
	Hash       string
	HashAlg    string
}

// NewRecord turns an Event into the next Record of a chain whose head is
// (prevSeq, prevHash). The time is truncated to microseconds because that
// is what PostgreSQL keeps; hashing more precision would break verification.
//
// Every text is made safe for a PostgreSQL text or jsonb value first
// (SafeText), here and only here, so a request whose path, username or
// any other field holds a NUL or invalid UTF-8 is still audited instead
// of failing the insert (SQLSTATE 22P05, 22021). The record is hashed as
// stored, so the chain verifies.
func NewRecord(e Event, at time.Time, prevSeq int64, prevHash string) (Record, error) {
	detail, err := safeDetail(e.Detail)
	if err != nil {
		return Record{}, err
	}
	r := Record{
		Seq: prevSeq + 1, At: at.UTC().Truncate(time.Microsecond),
		ActorID: e.Actor.ID, ActorName: SafeText(e.Actor.Name), ActorRole: SafeText(e.Actor.Role),
		IP: SafeText(e.Actor.IP), RequestID: SafeText(e.Actor.RequestID),
		Event: SafeText(e.Name), ObjectType: SafeText(e.ObjectType), ObjectID: SafeText(e.ObjectID),
		Outcome: SafeText(e.Outcome), Detail: detail, PrevHash: prevHash, HashAlg: Algorithm,
	}
	r.Hash = r.ComputeHash()
	return r, nil
}

// SafeText returns s as PostgreSQL text can hold it: a NUL becomes the four
// characters \x00 and each byte that is not part of valid UTF-8 becomes
// \xNN (its hex value), so what a hostile client sent stays visible and
// distinguishable in the log. Everything else, including a literal
// backslash, is kept, so SafeText of a safe text is the text itself.
func SafeText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == 0:
			b.WriteString(`\x00`)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// safeDetail canonicalises an event's detail with every string in it, keys
// and values at any depth, made safe by SafeText. Strings are cleaned
// before encoding, where they are still raw (encoding/json would turn
// invalid UTF-8 into U+FFFD and keep a NUL as \u0000, which jsonb
// refuses), and once more after, for strings inside values of other types
// (a struct's fields), where invalid UTF-8 has become U+FFFD.
func safeDetail(d map[string]any) ([]byte, error) {
	if d == nil {
		return CanonicalJSON(nil)
	}
	raw, err := json.Marshal(safeValue(d))
	if err != nil {
		return nil, err
	}
	generic, err := decodeGeneric(raw)
	if err != nil {
		return nil, err
	}
	return CanonicalJSON(safeValue(generic))
}

// decodeGeneric decodes JSON into maps, slices, strings and json.Numbers
// (never float64, so no number changes on the way).
func decodeGeneric(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	err := dec.Decode(&generic)
	return generic, err
}

// safeValue applies SafeText to the strings of the JSON-like value v.
func safeValue(v any) any {
	switch v := v.(type) {
	case string:
		return SafeText(v)
	case []byte:
		// json.Marshal encodes a []byte as base64: already safe.
		return v
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[SafeText(k)] = safeValue(x)
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(v))
		for k, x := range v {
			out[SafeText(k)] = SafeText(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = safeValue(x)
		}
		return out
	case []string:
		out := make([]string, len(v))
		for i, x := range v {
			out[i] = SafeText(x)
		}
		return out
	}
	return v
}

// CanonicalJSON encodes v (or re-encodes JSON bytes) with sorted keys and no
// insignificant white space, so a value read back from a jsonb column
// hashes the same as when it was written.
func CanonicalJSON(v any) ([]byte, error) {
	if v == nil {
		return []byte("{}"), nil
	}
	raw, ok := v.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	generic, err := decodeGeneric(raw)
	if err != nil {
		return nil, err
	}
	if generic == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(generic) // maps marshal with sorted keys
}

// canonical is the byte string that is hashed: every field, length-prefixed,
// in a fixed order, so no two different records share an encoding.
func (r Record) canonical() []byte {
	var b bytes.Buffer
	field := func(s string) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
		b.WriteByte(';')
	}
	field(strconv.FormatInt(r.Seq, 10))
	field(r.At.UTC().Format("2006-01-02T15:04:05.000000Z"))
	field(strconv.FormatInt(r.ActorID, 10))
	field(r.ActorName)
	field(r.ActorRole)
	field(r.IP)
	field(r.RequestID)
	field(r.Event)
	field(r.ObjectType)
	field(r.ObjectID)
	field(r.Outcome)
	field(string(r.Detail))
	return b.Bytes()
}

// ComputeHash returns the hash named by r.HashAlg (SHA-256 when empty) over
// the previous hash and the canonical encoding; "" for an unknown name.
func (r Record) ComputeHash() string {
	alg := r.HashAlg
	if alg == "" {
		alg = Algorithm
	}
	h, ok := suite.NewChainHash(alg)
	if !ok {
		return ""
	}
	h.Write([]byte(r.PrevHash))
	h.Write([]byte{'\n'})
	h.Write(r.canonical())
	return hex.EncodeToString(h.Sum(nil))
}

// NewRecordWith is NewRecord with the row hashed under alg (Algorithm or
// AlgorithmSM3, as the installation's CRYPTO chooses); an unknown alg is an
// error.
func NewRecordWith(alg string, e Event, at time.Time, prevSeq int64, prevHash string) (Record, error) {
	if _, ok := suite.NewChainHash(alg); !ok {
		return Record{}, fmt.Errorf("audit: unknown hash algorithm %q", alg)
	}
	r, err := NewRecord(e, at, prevSeq, prevHash)
	if err != nil || alg == r.HashAlg {
		return r, err
	}
	r.HashAlg = alg
	r.Hash = r.ComputeHash()
	return r, nil
}

// Verifier checks a chain fed to it in sequence order, one record at a
// time, so a caller can stream millions of rows from a cursor. Each row is
// hashed under the algorithm it names, so a chain that changed algorithm
// part-way (an installation switched to CRYPTO=gm) verifies.
type Verifier struct {
	prevSeq  int64
	prevHash string
	Count    int64
}

// NewVerifier starts a verification at the genesis of the chain.
func NewVerifier() *Verifier { return &Verifier{prevHash: GenesisHash} }

// ChainError names the first record that breaks the chain.
type ChainError struct {
	Seq    int64
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("审计日志第 %d 条：%s", e.Seq, e.Reason)
}

// Add checks the next record. Detail is canonicalised first because jsonb
// reorders keys.
func (v *Verifier) Add(r Record) error {
	detail, err := CanonicalJSON(r.Detail)
	if err != nil {
		return &ChainError{Seq: r.Seq, Reason: "详情不是有效的 JSON"}
	}
	r.Detail = detail
	switch {
	case r.Seq != v.prevSeq+1:
		return &ChainError{Seq: r.Seq, Reason: fmt.Sprintf("序号不连续（上一条为 %d）", v.prevSeq)}
	case !knownAlgorithm(r.HashAlg):
		return &ChainError{Seq: r.Seq, Reason: "未知的哈希算法 " + r.HashAlg}
	case r.PrevHash != v.prevHash:
		return &ChainError{Seq: r.Seq, Reason: "前一哈希与上一条记录不符（记录被删除、插入或改动）"}
	case r.ComputeHash() != r.Hash:
		return &ChainError{Seq: r.Seq, Reason: "内容与哈希不符（记录被改动）"}
	}
	v.prevSeq, v.prevHash = r.Seq, r.Hash
	v.Count++
	return nil
}

func knownAlgorithm(alg string) bool {
	_, ok := suite.NewChainHash(alg)
	return ok
}

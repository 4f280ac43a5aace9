package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// newFormKey is the idempotency key a money form carries (hex, 128 bits):
// generated when the form is rendered, so a double click or a retried
// request sends the same key and the store records once. In a page being
// rendered for the cache it is a placeholder that becomes a
// fresh key in every response.
func newFormKey(ctx context.Context) string {
	if ctx.Value(ctxCacheRender{}) != nil {
		return string(formKeyPlaceholder)
	}
	return randomHex(16)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

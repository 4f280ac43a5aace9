package applications

import (
	"errors"
	"fmt"
)

// Kind classifies an Error so the HTTP layer can pick a status without
// inspecting messages.
type Kind string

// The error kinds. Each maps to one HTTP status in internal/server.
const (
	Invalid         Kind = "invalid"         // 422: the input breaks a rule
	NotFound        Kind = "not_found"       // 404: absent, or not the caller's to see
	Conflict        Kind = "conflict"        // 409: the record changed or the state forbids it
	Forbidden       Kind = "forbidden"       // 403: signed in, but not allowed
	Unauthenticated Kind = "unauthenticated" // 401: not signed in
	TooLarge        Kind = "too_large"       // 413: an upload or body over its limit
	BadRequest      Kind = "bad_request"     // 400: the request arrived broken (an upload cut off mid-way)
	Internal        Kind = "internal"        // 500: our fault; the message is generic
)

// Error is the one application error. Message is safe to show to the user
// (Simplified Chinese, saying what to do); Field names the offending input
// when there is one.
type Error struct {
	Kind    Kind
	Message string
	Field   string
	Err     error // the cause, for logs only
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error of the given kind with a user-facing message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// FieldError builds an Invalid error tied to one input field.
func FieldError(field, message string) *Error {
	return &Error{Kind: Invalid, Field: field, Message: message}
}

// ErrorKind returns the kind of err: the empty kind for nil (no error),
// Internal for anything that is not an *Error.
func ErrorKind(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// ErrorMessage returns the user-facing message of err; for errors that are
// not an *Error it returns a generic message so internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != Internal {
		return e.Message
	}
	return "系统内部错误，请稍后重试；如仍有问题，请把页面上的请求编号告诉管理员。"
}

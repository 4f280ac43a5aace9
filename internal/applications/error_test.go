package applications

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorKind(t *testing.T) {
	for name, c := range map[string]struct {
		err  error
		want Kind
	}{
		"NilIsNoKind":       {nil, ""},
		"PlainIsInternal":   {errors.New("connection reset"), Internal},
		"OwnKind":           {Errorf(NotFound, "不存在。"), NotFound},
		"WrappedKeepsKind":  {fmt.Errorf("FindX 3: %w", FieldError("amount", "金额有误。")), Invalid},
		"CauseIsNotTheKind": {&Error{Kind: Conflict, Message: "冲突。", Err: errors.New("23505")}, Conflict},
	} {
		t.Run(name, func(t *testing.T) {
			if got := ErrorKind(c.err); got != c.want {
				t.Fatalf("ErrorKind(%v) = %q, want %q", c.err, got, c.want)
			}
		})
	}
}

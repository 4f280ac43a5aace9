package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
)

// TestStoreErrorsNameTheOperation: a store failure's text, the one the
// server logs, says which operation failed on which record, while its
// kind, its user-facing message and its cause stay what they were.
func TestStoreErrorsNameTheOperation(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	t.Run("NotFoundNamesOperationAndRecord", func(t *testing.T) {
		_, err := w.db.ApproveDisbursement(w.ctx, w.approver, 12, w.key())
		if !strings.HasPrefix(fmtErr(err), "ApproveDisbursement 12: ") {
			t.Fatalf("error %q does not name the operation and record", fmtErr(err))
		}
		if k := applications.ErrorKind(err); k != applications.NotFound {
			t.Fatalf("kind = %s, want not_found", k)
		}
		if msg := applications.ErrorMessage(err); msg != "记录不存在或您无权查看。" {
			t.Fatalf("user message = %q", msg)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			t.Fatalf("cause lost: %v", err)
		}
	})
	t.Run("FieldErrorUnderThePrefix", func(t *testing.T) {
		// The operation is a plain prefix; internal/server reads a form's
		// field errors with errors.As.
		_, err := w.db.RecordDisbursement(w.ctx, w.staff, applications.DisbursementInput{ApplicationID: 7, Tranche: 1,
			Amount: dec("-1"), IdempotencyKey: w.key()})
		var e *applications.Error
		if !errors.As(err, &e) || e.Field != "amount" || e.Kind != applications.Invalid {
			t.Fatalf("error = %#v, want an Invalid *applications.Error on amount", err)
		}
		if !strings.HasPrefix(fmtErr(err), "RecordDisbursement application 7 tranche 1: invalid: ") {
			t.Fatalf("error %q does not start with the operation and record", fmtErr(err))
		}
	})
	t.Run("CancelledContextNamesOperation", func(t *testing.T) {
		ctx, cancel := context.WithCancel(w.ctx)
		cancel()
		_, err := w.db.ApproveDisbursement(ctx, w.approver, 12, w.key())
		if !strings.HasPrefix(fmtErr(err), "ApproveDisbursement 12: ") {
			t.Fatalf("error %q does not name the operation and record", fmtErr(err))
		}
		if k := applications.ErrorKind(err); k != applications.Internal {
			t.Fatalf("kind = %s, want internal", k)
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cause lost: %v", err)
		}
	})
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

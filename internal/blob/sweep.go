package blob

import (
	"context"
	"fmt"
	"time"
)

// sweepBatch is how many candidate keys Sweep hands to referenced at a
// time: one query per batch, and memory bounded however many blobs exist.
const sweepBatch = 500

// Sweep deletes the blobs under prefix that were last written before
// olderThan and that no database row references, and returns how many it
// deleted. referenced gets a batch of candidate keys and returns the set of
// those a row still uses (a key missing from the map is unreferenced); the
// caller implements it with one query, e.g.
//
//	SELECT blob_key FROM document_versions WHERE blob_key = ANY($1)
//
// Such blobs are what a crash or a failed transaction between Ingest and
// the row's commit leaves behind. olderThan is the grace period: it must
// lie well before the start of any upload whose row may still commit (an
// upload in progress has a fresh blob and no row yet), so pass something
// like now minus 24 hours, never now.
//
// It also removes what a crash in the middle of Put left, with the same
// grace period: temporary files on the local backend, unfinished multipart
// uploads on S3.
//
// A failure stops the sweep and returns the count so far; sweeping again
// is safe.
func Sweep(ctx context.Context, store Store, prefix string, olderThan time.Time, referenced func(keys []string) (map[string]bool, error)) (deleted int, err error) {
	batch := make([]string, 0, sweepBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		refs, err := referenced(batch)
		if err != nil {
			return fmt.Errorf("blob: sweep: referenced: %w", err)
		}
		for _, k := range batch {
			if refs[k] {
				continue
			}
			if err := store.Delete(ctx, k); err != nil {
				return err
			}
			deleted++
		}
		batch = batch[:0]
		return nil
	}
	err = store.List(ctx, prefix, func(key string, modTime time.Time) error {
		if !modTime.Before(olderThan) {
			return nil
		}
		batch = append(batch, key)
		if len(batch) == sweepBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return deleted, err
	}
	if t, ok := store.(interface {
		removeStaleTemp(ctx context.Context, prefix string, olderThan time.Time) (int, error)
	}); ok {
		n, err := t.removeStaleTemp(ctx, prefix, olderThan)
		deleted += n
		if err != nil {
			return deleted, fmt.Errorf("blob: sweep temporary files: %w", err)
		}
	}
	return deleted, nil
}

// RemoveInterruptedUploads deletes the temporary files that uploads cut off
// by a crash or a kill left in store (the local backend writes each upload
// to a ".put-*" file before renaming it into place), and returns how many
// it deleted. Only files untouched since olderThan go: pass now minus
// TempIdle, which is safe while other servers share the store, because a
// live upload touches its file every minute (see TempIdle). On S3 the
// leftovers are unfinished multipart uploads, aborted when no part has
// arrived since olderThan (see (*S3).removeStaleTemp).
func RemoveInterruptedUploads(ctx context.Context, store Store, olderThan time.Time) (int, error) {
	t, ok := store.(interface {
		removeStaleTemp(ctx context.Context, prefix string, olderThan time.Time) (int, error)
	})
	if !ok {
		return 0, nil
	}
	n, err := t.removeStaleTemp(ctx, "", olderThan)
	if err != nil {
		return n, fmt.Errorf("blob: remove interrupted uploads: %w", err)
	}
	return n, nil
}

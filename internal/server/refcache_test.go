package server

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCachedRefLoadsOncePerGeneration: views that miss a reference value
// at once (as every view does right after a commit) share one load; the
// value is then kept for the generation, a new generation loads again,
// a failed load is not kept, and one asker giving up does not end the
// load for the others.
func TestCachedRefLoadsOncePerGeneration(t *testing.T) {
	e := newEnv(t)
	e.listening()
	e.settle()
	var loads atomic.Int32
	release := make(chan struct{})
	load := func(ctx context.Context) (string, error) {
		loads.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		return "value", nil
	}
	get := func(ctx context.Context) (string, error) {
		return cachedRef(e.srv, httptest.NewRequest("GET", "/", nil).WithContext(ctx), "test value", load)
	}

	// Eight views miss at once; one more gives up while waiting.
	impatient, giveUp := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	results := make([]string, 8)
	errs := make([]error, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = get(context.Background())
		}()
	}
	gaveUp := make(chan error, 1)
	go func() { _, err := get(impatient); gaveUp <- err }()
	e.waitFor("the first load to start", func() bool { return loads.Load() == 1 })
	time.Sleep(20 * time.Millisecond) // the others reach the flight
	giveUp()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("the view that gave up got %v", err)
	}
	close(release)
	wg.Wait()
	for i := range results {
		if errs[i] != nil || results[i] != "value" {
			t.Fatalf("view %d: %q, %v (the load must outlive the view that gave up)", i, results[i], errs[i])
		}
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d loads for eight views at one generation, want 1", n)
	}
	if v, err := get(context.Background()); v != "value" || err != nil || loads.Load() != 1 {
		t.Fatalf("a later view: %q, %v, %d loads (want the kept value)", v, err, loads.Load())
	}

	// A new generation loads again; a failure is not kept.
	e.settle()
	failing := func(context.Context) (string, error) { loads.Add(1); return "", errors.New("down") }
	if _, err := cachedRef(e.srv, httptest.NewRequest("GET", "/", nil), "test value", failing); err == nil {
		t.Fatal("a failed load gave no error")
	}
	if v, err := get(context.Background()); v != "value" || err != nil || loads.Load() != 3 {
		t.Fatalf("after a failed load: %q, %v, %d loads (want a fresh load)", v, err, loads.Load())
	}
}

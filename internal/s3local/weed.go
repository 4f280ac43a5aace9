package s3local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"ite/internal/childproc"
	"ite/internal/filelock"
)

// Module and Version pin the SeaweedFS the harness builds. The version is
// a pseudo-version the Go module proxy serves (the project has no tagged
// releases there); changing it builds a new binary next to the old one.
const (
	Module  = "github.com/seaweedfs/seaweedfs"
	Version = "v0.0.0-20261109003541-7506e5f91cd6"
)

// EnvWeed names a weed binary to use instead of the pinned build, for a
// machine without the Go module proxy (an air-gapped CI copies one in).
const EnvWeed = "ITE_WEED"

// ErrNoBinary means no weed binary was found and none could be built.
var ErrNoBinary = errors.New("s3local: no SeaweedFS `weed` binary")

// CachedPath is where the pinned build lives: in the user's cache
// directory ($XDG_CACHE_HOME or ~/.cache), outside every work tree, so all
// checkouts and later runs share one build and nothing is committed.
func CachedPath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("%w: no cache directory to build it in (%v); set %s to a weed binary", ErrNoBinary, err, EnvWeed)
	}
	return filepath.Join(dir, "ite", "seaweedfs-"+Version, "weed"), nil
}

// Binary returns the weed to run: $ITE_WEED if set, else the pinned build
// in CachedPath, building it first when it is missing. The build downloads
// SeaweedFS and its dependencies through the Go module proxy and compiles
// it outside the project's module (SeaweedFS's go.mod has replace
// directives, so `go install pkg@version` refuses it, and its hundreds of
// dependencies do not belong in ours); it takes minutes on a fresh machine.
// log receives progress messages and the build's output.
func Binary(ctx context.Context, log io.Writer) (string, error) {
	if p := os.Getenv(EnvWeed); p != "" {
		if !childproc.IsExecutable(p) {
			return "", fmt.Errorf("%w: %s=%s is not an executable file", ErrNoBinary, EnvWeed, p)
		}
		return p, nil
	}
	path, err := CachedPath()
	if err != nil {
		return "", err
	}
	if childproc.IsExecutable(path) {
		return path, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoBinary, err)
	}
	// `go test ./...` starts several test binaries at once on a fresh
	// machine: one builds, the others wait here and then find the binary.
	unlock, err := filelock.Lock(ctx, path+".lock")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoBinary, err)
	}
	defer unlock()
	if childproc.IsExecutable(path) {
		return path, nil
	}
	if err := build(ctx, path, log); err != nil {
		return "", fmt.Errorf("%w: building %s@%s failed (needs the Go module proxy; or set %s to a weed binary): %v", ErrNoBinary, Module, Version, EnvWeed, err)
	}
	return path, nil
}

// build compiles weed into path: the module is fetched into the module
// cache and built there as the main module, so its own go.mod (with its
// replace directives) and go.sum decide every dependency.
func build(ctx context.Context, path string, log io.Writer) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	env := buildEnv()
	start := time.Now()
	fmt.Fprintf(log, "s3local: building SeaweedFS weed %s into %s (first run only; a few minutes)\n", Version, path)
	dl := exec.CommandContext(ctx, goBin, "mod", "download", "-json", Module+"@"+Version)
	dl.Env = env
	dl.Stderr = log
	dl.Dir = os.TempDir() // outside any module: the download must not touch ours
	out, err := dl.Output()
	if err != nil {
		return fmt.Errorf("go mod download: %w", err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return fmt.Errorf("go mod download: no module directory in %q (%v %s)", out, err, mod.Error)
	}
	tmp := path + ".tmp"
	bld := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", tmp, "./weed")
	bld.Env = env
	bld.Dir = mod.Dir
	bld.Stdout = log
	bld.Stderr = log
	if err := bld.Run(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("go build: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	fmt.Fprintf(log, "s3local: built weed in %s\n", time.Since(start).Round(time.Second))
	return nil
}

// buildEnv is ours minus what would tie the build to the project (a
// go.work, GOFLAGS such as -mod=vendor) or make a binary for another
// machine (GOOS, GOARCH: the binary runs here).
func buildEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "GOWORK", "GOFLAGS", "GOOS", "GOARCH":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GOWORK=off", "GOFLAGS=-mod=readonly")
}

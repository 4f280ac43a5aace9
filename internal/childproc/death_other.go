//go:build !linux

package childproc

import "syscall"

// DieWithParent does nothing where the kernel has no parent-death signal:
// there a server whose owner crashed keeps running, and the next Start on
// the same directory reuses it.
func DieWithParent(attr *syscall.SysProcAttr, sig syscall.Signal) {}

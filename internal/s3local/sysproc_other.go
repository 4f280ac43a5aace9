//go:build !linux

package s3local

import "syscall"

// setParentDeathSignal does nothing where the kernel has no parent-death
// signal: there a server whose owner crashed keeps running, and the next
// Start on the same directory reuses it.
func setParentDeathSignal(attr *syscall.SysProcAttr, sig syscall.Signal) {}

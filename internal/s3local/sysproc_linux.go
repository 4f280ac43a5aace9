package s3local

import "syscall"

// setParentDeathSignal asks Linux to send sig to the child when we die, so
// no server outlives the program (or test binary) that started it.
func setParentDeathSignal(attr *syscall.SysProcAttr, sig syscall.Signal) {
	attr.Pdeathsig = sig
}

package childproc

import "syscall"

// DieWithParent asks Linux to send sig to the child when we die, so no
// server outlives the program (or test binary) that started it.
func DieWithParent(attr *syscall.SysProcAttr, sig syscall.Signal) {
	attr.Pdeathsig = sig
}

package main

import "syscall"

// sysProcAttr puts Prometheus in its own process group, so that Ctrl-C in the terminal
// reaches devstack only and devstack stops Prometheus in order.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

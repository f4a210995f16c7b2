// The pod sandbox ("pause") process of the fabdev test node: it holds the
// pod's namespaces, reaps the zombies of containers sharing its PID
// namespace, and exits on SIGINT or SIGTERM. Built statically by
// scripts/setup/node-images.sh into the image fabdev.invalid/kubenode-pause.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	children := make(chan os.Signal, 16)
	signal.Notify(children, syscall.SIGCHLD)
	for {
		select {
		case <-stop:
			os.Exit(0)
		case <-children:
			for {
				var status syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		}
	}
}

// A program that starts a child process and then runs for a long time: the
// fault tests check that conform's timeout and interrupts end both.
package main

import (
	"os/exec"
	"time"
)

func main() {
	cmd := exec.Command("sleep", "300")
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	time.Sleep(300 * time.Second)
}

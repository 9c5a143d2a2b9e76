// Prediction (golang/go#52934): a chain of goroutines, each spawning the
// next and exiting, keeps a goroutine in the local run queue waiting: each
// child goes to runnext and inherits the time slice, so schedtick does not
// move and findRunnable's schedtick%61 global check does not fire (the
// model's spawn-chain workload fails no-starvation at --cores 1 and 2).
//
// main readies a victim, then starts the chain, which runs for about 200ms.
// Printed: when the victim first ran and when the chain ended, in ms.
package main

import (
	"fmt"
	"sync/atomic"
	"time"
)

var (
	start    time.Time
	chainEnd atomic.Int64
	done     = make(chan struct{})
)

func link(n int) {
	if time.Since(start) > 200*time.Millisecond {
		chainEnd.Store(int64(time.Since(start)))
		close(done)
		return
	}
	go link(n + 1)
}

func main() {
	start = time.Now()
	var victimAt atomic.Int64
	victimAt.Store(-1)
	victimDone := make(chan struct{})
	go func() {
		victimAt.Store(int64(time.Since(start)))
		close(victimDone)
	}()
	go link(0) // the victim moves from runnext to the ring behind the chain
	<-done
	<-victimDone
	fmt.Printf("{\"victim_ms\": %.3f, \"busy_ms\": %.3f}\n",
		float64(victimAt.Load())/1e6, float64(chainEnd.Load())/1e6)
}

// Prediction: a loop with no safe point starves a runnable goroutine at
// GOMAXPROCS=1 when asynchronous preemption is off (the model's tight-loop
// workload without the `signal` fairness; docs/findings.md), and does not
// when it is on (sysmon's preemptone reaches it by signal after ~10ms).
//
// main readies a victim (runnext of its P) and then spins, with no function
// call in the loop, for about 200ms. Printed: when the victim first ran and
// when the loop ended, in ms since the start.
package main

import (
	"fmt"
	"sync/atomic"
	"time"
)

var sink uint64

func main() {
	start := time.Now()
	var victimAt atomic.Int64
	victimAt.Store(-1)
	done := make(chan struct{})
	go func() {
		victimAt.Store(int64(time.Since(start)))
		close(done)
	}()
	// Calibrated on nothing: the loop's length is what it is; its end is
	// measured. No call inside, so no synchronous preemption point.
	x := uint64(1)
	for i := 0; i < 200_000_000; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	sink = x
	loopEnd := time.Since(start)
	<-done
	fmt.Printf("{\"victim_ms\": %.3f, \"busy_ms\": %.3f}\n",
		float64(victimAt.Load())/1e6, float64(loopEnd)/1e6)
}

// CPU-bound loops: more busy goroutines than Ps for about 40ms, so sysmon
// preempts them (asynchronously) and they take turns through the global
// run queue.
package main

import (
	"sync"
	"time"
)

//go:noinline
func step(x uint64) uint64 { return x*6364136223846793005 + 1442695040888963407 }

func main() {
	var wg sync.WaitGroup
	deadline := time.Now().Add(40 * time.Millisecond)
	sink := make([]uint64, 5)
	for g := range sink {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := uint64(g)
			for time.Now().Before(deadline) {
				for i := 0; i < 1000; i++ {
					x = step(x)
				}
			}
			sink[g] = x
		}()
	}
	wg.Wait()
}

// A fan-out of 1,000 short goroutines: main starts them all, each adds to a
// shared counter, and main waits for them with a WaitGroup.
package main

import (
	"sync"
	"sync/atomic"
)

func main() {
	var wg sync.WaitGroup
	var total atomic.Int64
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := 0
			for j := 0; j < 200; j++ {
				s += (i + j) & 7
			}
			total.Add(int64(s))
		}()
	}
	wg.Wait()
}

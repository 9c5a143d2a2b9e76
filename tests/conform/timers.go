// Timers and select: workers wait on a ticker and time.After in a select
// with a done channel, main sleeps with time.Sleep and collects results
// with a timeout.
package main

import (
	"sync"
	"time"
)

func main() {
	results := make(chan int, 4)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(300 * time.Microsecond)
			defer tick.Stop()
			for i := 0; i < 4; i++ {
				select {
				case <-tick.C:
					results <- w*10 + i
				case <-time.After(2 * time.Millisecond):
					results <- -1
				case <-done:
					return
				}
			}
		}()
	}
	got := 0
	for got < 12 {
		select {
		case <-results:
			got++
		case <-time.After(50 * time.Millisecond):
			got = 12
		}
		time.Sleep(100 * time.Microsecond)
	}
	close(done)
	wg.Wait()
}

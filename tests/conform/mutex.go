// Mutex hand-off: goroutines contend for one sync.Mutex around a short
// critical section; waiters park on the mutex's semaphore and are readied
// by Unlock.
package main

import "sync"

func main() {
	var mu sync.Mutex
	var wg sync.WaitGroup
	counter := 0
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				mu.Lock()
				for j := 0; j < 200; j++ {
					counter += j & 1
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	_ = counter
}

// Spawning: main starts goroutines that each compute a little and exit;
// main waits for them with a WaitGroup.
package main

import "sync"

func work(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += i * i
	}
	return s
}

func main() {
	var wg sync.WaitGroup
	results := make([]int, 12)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = work(2000 + i)
		}()
	}
	wg.Wait()
}

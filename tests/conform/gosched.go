// runtime.Gosched: goroutines yield in a loop, each yield putting the
// goroutine on the global run queue.
package main

import (
	"runtime"
	"sync"
)

func main() {
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
}

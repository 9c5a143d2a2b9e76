// A worker pool: five workers take jobs from a channel, do some CPU work,
// write and remove a temporary file (system calls), yield with Gosched and
// add to a total under a mutex; main collects the results.
package main

import (
	"os"
	"runtime"
	"sync"
)

func work(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += i * i % 7
	}
	return s
}

func main() {
	jobs := make(chan int)
	results := make(chan int, 4)
	var mu sync.Mutex
	total := 0
	var wg sync.WaitGroup
	for w := 0; w < 5; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				r := work(5000 + j)
				f, err := os.CreateTemp("", "gmpcheck-pool-*")
				if err != nil {
					panic(err)
				}
				if _, err := f.Write([]byte("job")); err != nil {
					panic(err)
				}
				f.Close()
				os.Remove(f.Name())
				runtime.Gosched()
				mu.Lock()
				total += r
				mu.Unlock()
				results <- r
			}
		}()
	}
	go func() {
		for j := 0; j < 40; j++ {
			jobs <- j
		}
		close(jobs)
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	sum := 0
	for r := range results {
		sum += r
	}
	_ = sum
}

// Heavy allocation: goroutines build and drop slices and maps. conform runs
// programs with GOGC=off, so no collection starts (a GC cycle would end the
// part of the trace the model can check); the allocator's own paths
// (mcache refills, large objects) run in every goroutine.
package main

import "sync"

func churn(n int) int {
	total := 0
	for i := 0; i < n; i++ {
		b := make([]byte, 1<<(i%14))
		m := map[int]int{i: len(b)}
		total += m[i]
	}
	return total
}

func main() {
	var wg sync.WaitGroup
	sums := make([]int, 4)
	for g := range sums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[g] = churn(3000)
		}()
	}
	wg.Wait()
}

package main

import (
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memSampler records the peak of the heap and of the memory the Go
// runtime holds while a scenario runs, from runtime/metrics every 10 ms.
type memSampler struct {
	stopc chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	heap  uint64 // /memory/classes/heap/objects:bytes: live and not yet swept objects
	total uint64 // /memory/classes/total minus heap/released: what the runtime holds from the OS
}

var memMetrics = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
}

func readMem() (heap, total uint64) {
	s := make([]metrics.Sample, len(memMetrics))
	for i, n := range memMetrics {
		s[i].Name = n
	}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64() - s[2].Value.Uint64()
}

func startMemSampler() *memSampler {
	m := &memSampler{stopc: make(chan struct{})}
	m.sample()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-m.stopc:
				return
			case <-t.C:
				m.sample()
			}
		}
	}()
	return m
}

func (m *memSampler) sample() {
	h, t := readMem()
	m.mu.Lock()
	m.heap, m.total = max(m.heap, h), max(m.total, t)
	m.mu.Unlock()
}

// stop ends sampling and returns the peaks.
func (m *memSampler) stop() (heap, total uint64) {
	close(m.stopc)
	m.wg.Wait()
	m.sample()
	return m.heap, m.total
}

// liveHeap runs two garbage collections and returns the bytes of live
// heap objects.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	h, _ := readMem()
	return h
}

// procStatus reads a kB field of /proc/self/status (VmRSS, VmHWM), 0 where
// there is none.
func procStatus(field string) uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseUint(f[0], 10, 64)
				return n * 1024
			}
		}
	}
	return 0
}

func mb(b uint64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MB" }

// gcCycles is the number of completed GC cycles.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// heapAllocs is the cumulative count of bytes allocated on the heap.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

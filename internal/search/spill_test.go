package search

import "testing"

func TestChunksBudget(t *testing.T) {
	c := &chunks{}
	var got [][]byte
	for range spareChunks {
		b := c.get(100)
		if b == nil || cap(b) != 100 || len(b) != 0 {
			t.Fatalf("get: %d/%d, want an empty buffer of 100", len(b), cap(b))
		}
		got = append(got, append(b, "x"...))
	}
	if b := c.get(100); b != nil {
		t.Fatal("get beyond the budget returned a buffer")
	}
	c.put(got[0])
	b := c.get(100)
	if b == nil || len(b) != 0 || &b[:1][0] != &got[0][0] {
		t.Fatal("a returned buffer is not reused, emptied")
	}
}

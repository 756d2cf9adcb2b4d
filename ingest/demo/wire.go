package demo

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Protocol buffer encoding by hand, for the hot path: the messages the
// generator sends are appended field by field into reused buffers, with
// the parts that never change encoded once. The messages are checked
// against the real decoders in the tests.

func appendTag(b []byte, num protowire.Number, typ protowire.Type) []byte {
	return protowire.AppendTag(b, num, typ)
}

// appendStringField appends a string field; empty strings are left out,
// as proto3 does.
func appendStringField(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendBytesField appends a bytes or message field, even when empty.
func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(len(v)))
	return append(b, v...)
}

// appendVarintField appends a varint field; zero is left out.
func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendFixed64Field(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

func appendDoubleField(b []byte, num protowire.Number, v float64) []byte {
	return appendFixed64Field(b, num, math.Float64bits(v))
}

// openField appends the tag of a message field and room for a one-byte
// length; closeField writes the length, moving the content when it needs
// more bytes. Fields opened inside must be closed first.
func openField(b []byte, num protowire.Number) ([]byte, int) {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = append(b, 0)
	return b, len(b)
}

func closeField(b []byte, start int) []byte {
	n := len(b) - start
	size := protowire.SizeVarint(uint64(n))
	if size == 1 {
		b[start-1] = byte(n)
		return b
	}
	for range size - 1 {
		b = append(b, 0)
	}
	copy(b[start-1+size:], b[start:start+n])
	protowire.AppendVarint(b[:start-1], uint64(n))
	return b
}

// appendTimestampField appends a google.protobuf.Timestamp of Unix
// nanoseconds ns.
func appendTimestampField(b []byte, num protowire.Number, ns int64) []byte {
	b, m := openField(b, num)
	b = appendVarintField(b, 1, uint64(ns/1e9))
	b = appendVarintField(b, 2, uint64(ns%1e9))
	return closeField(b, m)
}

// appendDurationField appends a google.protobuf.Duration of ns
// nanoseconds (not negative).
func appendDurationField(b []byte, num protowire.Number, ns int64) []byte {
	b, m := openField(b, num)
	b = appendVarintField(b, 1, uint64(ns/1e9))
	b = appendVarintField(b, 2, uint64(ns%1e9))
	return closeField(b, m)
}

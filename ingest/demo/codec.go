package demo

import (
	"context"
	"fmt"

	"google.golang.org/grpc/mem"
)

// rawMessage is a protobuf message already encoded: the generator encodes
// OTLP and ALS messages itself and hands gRPC the bytes.
type rawMessage struct{ b []byte }

// rawCodec passes rawMessage bytes through. It is named "proto" so that
// the content type stays application/grpc+proto: the server decodes the
// bytes with its protobuf codec as from any other client.
type rawCodec struct{}

// Marshal copies the message into a buffer of gRPC's pool, so the caller
// may reuse its bytes as soon as SendMsg returns.
func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(*rawMessage)
	if !ok {
		return nil, fmt.Errorf("raw codec: cannot marshal %T", v)
	}
	return mem.BufferSlice{mem.Copy(m.b, mem.DefaultBufferPool())}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*rawMessage)
	if !ok {
		return fmt.Errorf("raw codec: cannot unmarshal into %T", v)
	}
	m.b = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

// bearer sends "authorization: Bearer TOKEN" with every call.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

// RequireTransportSecurity is false: meshscope's gRPC listener is
// commonly plaintext on loopback or behind a mesh's own mTLS.
func (bearer) RequireTransportSecurity() bool { return false }

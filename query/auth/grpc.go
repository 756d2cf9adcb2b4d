package auth

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Context checks the "authorization" metadata of an incoming gRPC call and
// returns an Unauthenticated status error when no value carries an accepted
// token.
func (a *Authorizer) Context(ctx context.Context) error {
	if !a.Enabled() {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if a.ValidHeader(v) {
			return nil
		}
	}
	return status.Error(codes.Unauthenticated, ErrUnauthorized.Error())
}

// UnaryServerInterceptor rejects unary calls without an accepted token.
func (a *Authorizer) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := a.Context(ctx); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor rejects streams without an accepted token.
func (a *Authorizer) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := a.Context(ss.Context()); err != nil {
			return err
		}
		return handler(srv, ss)
	}
}

package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
)

// tlsFiles are a listener's certificate and key; both empty means plain TCP.
type tlsFiles struct{ cert, key string }

// listenerNames are the listeners that take --NAME-addr and TLS options.
var listenerNames = []string{"http", "otlp-grpc", "otlp-http"}

func registerTLS(fs *flag.FlagSet, files map[string]*tlsFiles) {
	for _, name := range listenerNames {
		f := &tlsFiles{}
		files[name] = f
		fs.StringVar(&f.cert, name+"-tls-cert-file", "", "PEM certificate (chain) for the "+name+" listener; with its key file, the listener speaks TLS")
		fs.StringVar(&f.key, name+"-tls-key-file", "", "PEM private key for the "+name+" listener")
	}
}

// wrapTLS turns l into a TLS listener when files are given. gRPC needs
// HTTP/2 by ALPN; the HTTP listeners speak HTTP/1.1 over TLS.
func wrapTLS(name string, l net.Listener, f *tlsFiles) (net.Listener, error) {
	if f == nil || (f.cert == "" && f.key == "") {
		return l, nil
	}
	if f.cert == "" || f.key == "" {
		return nil, fmt.Errorf("--%s-tls-cert-file and --%s-tls-key-file go together", name, name)
	}
	cert, err := tls.LoadX509KeyPair(f.cert, f.key)
	if err != nil {
		return nil, fmt.Errorf("--%s-tls-cert-file / --%s-tls-key-file: %w", name, name, err)
	}
	protos := []string{"http/1.1"}
	if name == "otlp-grpc" {
		protos = []string{"h2"}
	}
	return tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: protos}), nil
}

// ownListenerTLS is the client TLS configuration with which this process
// reaches one of its own TLS listeners (serve --demo): it accepts exactly
// the listener's certificate, whatever names it holds. nil for a plain
// listener.
func ownListenerTLS(f *tlsFiles) (*tls.Config, error) {
	if f == nil || f.cert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(f.cert, f.key)
	if err != nil {
		return nil, err
	}
	leaf := cert.Certificate[0]
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Verification is the comparison below: the peer must present
		// this listener's own certificate.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], leaf) {
				return errors.New("the peer is not this server's own listener")
			}
			return nil
		},
	}, nil
}

// serverTrust is the client TLS configuration of the commands that reach a
// running server (demo, import): the certificates of caFile (PEM) as the
// roots, or the system's roots when caFile is empty.
func serverTrust(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--server-ca-file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--server-ca-file %s: no PEM certificate in it", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

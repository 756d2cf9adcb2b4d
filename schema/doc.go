// Package schema is the contract between meshscope's writers and readers: the
// ClickHouse tables, their versioned migrations rendered for the server's
// version (and for a cluster), and the Go row types that fill them. It imports
// nothing of meshscope; every other package may import it.
package schema

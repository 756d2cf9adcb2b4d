//go:build armbe || arm64be || m68k || mips || mips64 || mips64p32 || ppc || ppc64 || s390 || s390x || shbe || sparc || sparc64

package chstore

// Fixed-width values are copied between memory and ClickHouse's native
// format, which is little-endian, as they are (addFixed, and the write-ahead
// log's records of columns): on a big-endian CPU they would be stored
// byte-swapped. The undefined name below stops such a build and says why.
var _ = meshscopeNeedsALittleEndianCPU

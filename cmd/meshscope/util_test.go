package main

import (
	"strconv"
	"strings"
)

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func lower(s string) string { return strings.ToLower(s) }

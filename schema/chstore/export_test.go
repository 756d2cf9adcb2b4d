package chstore

// TestBatch is testBatch for the package's external tests.
var TestBatch = testBatch

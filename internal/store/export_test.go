package store

// Unexported functions under test (insert_test.go).
var (
	InsertMany    = insertMany
	InsertCommand = insertCommand
)

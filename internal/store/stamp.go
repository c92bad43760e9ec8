package store

import (
	"encoding/binary"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/modelmon/modelmon/internal/mongodb"
)

// StampStoredAt returns doc with mongodb.FieldStoredAt set to t (millisecond
// precision), appended into buf (which it returns grown): an existing stored_at (a
// spooled record stamped by the write that failed) is replaced, other fields keep
// their order. The writer stamps every record when the InsertMany that carries it
// starts, so that a record is visible in the collection no later than its stamp plus
// the write timeout: the batch's windows over stored_at close behind that bound
// (workflows: allowed lateness).
func StampStoredAt(buf []byte, doc bson.Raw, t time.Time) ([]byte, bson.Raw, error) {
	if len(doc) < 5 {
		return buf, nil, fmt.Errorf("store: stamp %s: document of %d bytes", mongodb.FieldStoredAt, len(doc))
	}
	start := len(buf)
	if _, err := doc.LookupErr(mongodb.FieldStoredAt); err != nil {
		// The common case: copy the document without its terminating 0, append
		// the stamp, close it.
		buf = append(buf, doc[:len(doc)-1]...)
	} else {
		elems, err := doc.Elements()
		if err != nil {
			return buf, nil, fmt.Errorf("store: stamp %s: %w", mongodb.FieldStoredAt, err)
		}
		buf = append(buf, 0, 0, 0, 0)
		for _, e := range elems {
			if e.Key() != mongodb.FieldStoredAt {
				buf = append(buf, e...)
			}
		}
	}
	buf = bsoncore.AppendDateTimeElement(buf, mongodb.FieldStoredAt, t.UnixMilli())
	buf = append(buf, 0)
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(buf)-start))
	return buf, bson.Raw(buf[start:len(buf):len(buf)]), nil
}

// stampBatch appends the documents of batch stamped with t to docs, their bytes
// appended to buf; it returns both. A document that cannot be stamped is appended as
// it is (the database rejects or stores it, as before).
func stampBatch(docs []any, buf []byte, batch []*pending, t time.Time) ([]any, []byte) {
	size := len(buf)
	for _, p := range batch {
		size += len(p.doc) + len(mongodb.FieldStoredAt) + 10
	}
	if cap(buf) < size {
		buf = append(make([]byte, 0, size), buf...) // no reallocation while stamping: docs point into buf
	}
	for _, p := range batch {
		var out bson.Raw
		var err error
		if buf, out, err = StampStoredAt(buf, p.doc, t); err != nil {
			out = p.doc
		}
		docs = append(docs, out)
	}
	return docs, buf
}

// stampAll stamps docs (bson.Raw each) with t into one new buffer and replaces them
// in place; a document that cannot be stamped is left as it is (the database
// rejects or stores it, as before).
func stampAll(docs []any, t time.Time) {
	size := 0
	for _, d := range docs {
		if r, ok := d.(bson.Raw); ok {
			size += len(r) + len(mongodb.FieldStoredAt) + 10
		}
	}
	buf := make([]byte, 0, size)
	for i, d := range docs {
		r, ok := d.(bson.Raw)
		if !ok {
			continue
		}
		var out bson.Raw
		var err error
		if buf, out, err = StampStoredAt(buf, r, t); err == nil {
			docs[i] = out
		}
	}
}

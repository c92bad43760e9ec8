package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// maxRawInsertBytes bounds the insert command that insertMany builds: MongoDB
// takes a command document of up to 16 MiB (maxBsonObjectSize); a larger batch
// goes to Collection.InsertMany, which splits it.
const maxRawInsertBytes = 8 << 20

// insertUnordered is InsertMany's option when insertMany hands a batch to it.
var insertUnordered = options.InsertMany().SetOrdered(false)

// insertMany inserts docs (BSON documents, each with its _id) as
// coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false)) does, with
// the same outcome: nil, a mongo.BulkWriteException carrying the documents' write
// errors (Index into docs) or the write concern's error, or the command's error.
//
// It sends the insert command itself ({insert, documents, ordered: false,
// writeConcern}) through Database.RunCommand, built once into buf. InsertMany
// re-encodes every document element by element and decodes its _id through the
// driver's struct codec to return it; for the /predict records that is ~7 of the
// ~9.5 µs the driver spends per record, on the writer's path, which is serial
// with the store (bench/README.md). What InsertMany does besides is not needed
// here: the documents carry their _id (a document without one, or a batch over
// maxRawInsertBytes, goes to InsertMany), and a failed batch is not retried by
// the driver but spooled and drained by the Logger, idempotently.
//
// wc is the write concern that InsertMany would send (the client's, from its
// URI: see LoggerOptions.WriteConcern); nil sends none: the server's default.
func insertMany(ctx context.Context, coll *mongo.Collection, wc *writeconcern.WriteConcern, docs []any, buf []byte) ([]byte, error) {
	size := 0
	for _, d := range docs {
		r, ok := d.(bson.Raw)
		if !ok || !hasID(r) {
			_, err := coll.InsertMany(ctx, docs, insertUnordered)
			return buf, err
		}
		size += len(r) + 8
	}
	if size > maxRawInsertBytes {
		_, err := coll.InsertMany(ctx, docs, insertUnordered)
		return buf, err
	}
	cmd, err := insertCommand(buf[:0], coll.Name(), wc, docs)
	if err != nil {
		return cmd, err
	}
	// The driver reads the reply's writeErrors and writeConcernError into a
	// WriteException, and ok: 0 into a CommandError.
	err = coll.Database().RunCommand(ctx, bson.Raw(cmd)).Err()
	var we mongo.WriteException
	if errors.As(err, &we) {
		return cmd, bulkWriteException(we) // as InsertMany reports them
	}
	return cmd, err
}

// bulkWriteException is we as InsertMany reports it.
func bulkWriteException(we mongo.WriteException) error {
	bwe := mongo.BulkWriteException{WriteConcernError: we.WriteConcernError, Labels: we.Labels}
	for _, e := range we.WriteErrors {
		bwe.WriteErrors = append(bwe.WriteErrors, mongo.BulkWriteError{WriteError: e})
	}
	return bwe
}

// hasID reports whether doc has an _id element (first, as the records of this
// package have it, or anywhere).
func hasID(doc bson.Raw) bool {
	if len(doc) > 9 && doc[4] != 0 && string(doc[5:9]) == "_id\x00" {
		return true
	}
	_, err := doc.LookupErr("_id")
	return err == nil
}

// insertCommand appends {insert: coll, documents: [docs...], ordered: false,
// writeConcern: wc} to dst.
func insertCommand(dst []byte, coll string, wc *writeconcern.WriteConcern, docs []any) ([]byte, error) {
	idx, dst := bsoncore.AppendDocumentStart(dst)
	dst = bsoncore.AppendStringElement(dst, "insert", coll)
	aidx, dst := bsoncore.AppendArrayElementStart(dst, "documents")
	for i, d := range docs {
		dst = bsoncore.AppendDocumentElement(dst, arrayKey(i), d.(bson.Raw))
	}
	dst, err := bsoncore.AppendArrayEnd(dst, aidx)
	if err != nil {
		return dst, fmt.Errorf("store: insert command: %w", err)
	}
	dst = bsoncore.AppendBooleanElement(dst, "ordered", false)
	if wc != nil && (wc.W != nil || wc.Journal != nil) {
		widx, d := bsoncore.AppendDocumentElementStart(dst, "writeConcern")
		dst = d
		switch w := wc.W.(type) {
		case nil:
		case int:
			dst = bsoncore.AppendInt32Element(dst, "w", int32(w))
		case string:
			dst = bsoncore.AppendStringElement(dst, "w", w)
		default:
			return dst, fmt.Errorf("store: insert command: write concern w of type %T, want int or string", w)
		}
		if wc.Journal != nil {
			dst = bsoncore.AppendBooleanElement(dst, "j", *wc.Journal)
		}
		if dst, err = bsoncore.AppendDocumentEnd(dst, widx); err != nil {
			return dst, fmt.Errorf("store: insert command: %w", err)
		}
	}
	return bsoncore.AppendDocumentEnd(dst, idx)
}

// arrayKeys are the keys of a BSON array's first elements ("0", "1", ...), made once.
var arrayKeys = func() (k [1024]string) {
	for i := range k {
		k[i] = strconv.Itoa(i)
	}
	return k
}()

// arrayKey is the key of element i of a BSON array.
func arrayKey(i int) string {
	if i < len(arrayKeys) {
		return arrayKeys[i]
	}
	return strconv.Itoa(i)
}

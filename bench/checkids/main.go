// Command checkids checks that every id of a file (one a line, such as loadgen's
// -ok-ids) is stored exactly once in the prediction log.
//
//	go run ./bench/checkids -ids ok.txt -mongodb mongodb://127.0.0.1:27099
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/modelmon/modelmon/internal/mongodb"
)

func main() {
	ids := flag.String("ids", "", "file of ids, one a line")
	uri := flag.String("mongodb", "mongodb://127.0.0.1:27017", "MongoDB URI")
	prefix := flag.String("prefix", "lg-", "only stored ids with this prefix are read")
	flag.Parse()
	if err := run(*ids, *uri, *prefix); err != nil {
		fmt.Fprintln(os.Stderr, "checkids:", err)
		os.Exit(1)
	}
}

func run(idsPath, uri, prefix string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, err := os.Open(idsPath)
	if err != nil {
		return fmt.Errorf("ids: %w", err)
	}
	defer f.Close()
	var want []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			want = append(want, s)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("ids: %w", err)
	}
	c, err := mongodb.Connect(ctx, uri)
	if err != nil {
		return err
	}
	defer c.Disconnect(context.Background())
	cur, err := mongodb.DataCollection(c).Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$regex", Value: "^" + prefix}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return fmt.Errorf("find: %w", err)
	}
	seen := map[string]int{}
	for cur.Next(ctx) {
		seen[cur.Current.Lookup("_id").StringValue()]++
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("find: %w", err)
	}
	missing := 0
	for _, id := range want {
		if seen[id] != 1 {
			missing++
			if missing <= 5 {
				fmt.Fprintf(os.Stderr, "not stored exactly once: %s (x%d)\n", id, seen[id])
			}
		}
	}
	fmt.Printf("ids answered 200: %d; stored documents with prefix %q: %d; missing: %d\n", len(want), prefix, len(seen), missing)
	if missing > 0 {
		return fmt.Errorf("%d ids answered 200 are not stored", missing)
	}
	return nil
}

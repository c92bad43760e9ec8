package serve

import (
	"fmt"

	"github.com/modelmon/modelmon/internal/metrics"
)

// DecodeBoth decodes body with decodeRide (the fast path, falling back to
// encoding/json) and with decodeRideStd (encoding/json only) and returns each
// outcome as text: the decoded ride, or the error.
func DecodeBoth(body []byte, ranges map[string]metrics.Range) (got, want string, fast bool) {
	rs := sortedRanges(ranges)
	outcome := func(r *rideRequest, err error) string {
		if err != nil {
			return fmt.Sprintf("error %T: %v", err, err)
		}
		return fmt.Sprintf("%+v", *r)
	}
	var a, b rideRequest
	fast = decodeFast(body, &rideRequest{})
	got = outcome(&a, decodeRide(body, rs, &a))
	want = outcome(&b, decodeRideStd(body, rs, &b))
	return got, want, fast
}

// NewRequestID is newRequestID.
var NewRequestID = newRequestID

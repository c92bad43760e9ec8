package e2e

import (
	"context"
	"time"

	"go.temporal.io/sdk/interceptor"
)

// slowHeartbeats delays every activity heartbeat: the killed worker's activities
// move slowly enough to be killed half way.
type slowHeartbeats struct {
	interceptor.WorkerInterceptorBase
	delay time.Duration
}

func (s *slowHeartbeats) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &slowInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, delay: s.delay}
}

type slowInbound struct {
	interceptor.ActivityInboundInterceptorBase
	delay time.Duration
}

func (i *slowInbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	return i.Next.Init(&slowOutbound{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: outbound}, delay: i.delay})
}

type slowOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
	delay time.Duration
}

func (o *slowOutbound) RecordHeartbeat(ctx context.Context, details ...any) {
	time.Sleep(o.delay)
	o.Next.RecordHeartbeat(ctx, details...)
}

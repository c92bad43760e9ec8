// Package batchsched manages the Temporal Schedules of batch monitoring: one schedule
// per dataset, id batch-monitoring-<dataset>, starting BatchMonitoring by its type
// name with an open window (each run covers the time since the previous one), overlap
// policy SKIP and a catch-up window. The starter's `schedule` command is a thin layer
// over it.
package batchsched

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/workflows"
)

// Defaults of a Spec.
const (
	DefaultEvery         = time.Hour
	DefaultCatchupWindow = time.Hour
	DefaultRunTimeout    = 6 * time.Hour
)

// Spec is a dataset's schedule.
type Spec struct {
	Dataset   string
	TaskQueue string // empty: workflows.TaskQueue
	// Every is the interval (default DefaultEvery); Cron, if set, replaces it.
	Every time.Duration
	Cron  string
	// CatchupWindow is how late a missed run (Temporal down) may still start.
	CatchupWindow time.Duration
	// RunTimeout bounds one run, so that a stuck run cannot block the schedule.
	RunTimeout time.Duration
	// Reference and Targets are passed to every run (see workflows.Input).
	Reference, Targets string
	// PartitionRows, PartitionFanOut, PartitionBlock and AllowedLateness (a Go
	// duration, empty: the workflow's default) are passed to every run as the
	// workflows.Input fields of the same names; 0 and "" leave the workflow's
	// defaults. Create and Update check them as the workflow does.
	PartitionRows, PartitionFanOut, PartitionBlock int
	AllowedLateness                                string
	Paused                                         bool
	Note                                           string
}

// Input is the workflow input every run of the schedule gets.
func (s Spec) Input() workflows.Input {
	return workflows.Input{
		Dataset: s.Dataset, Reference: s.Reference, Targets: s.Targets, AllowedLateness: s.AllowedLateness,
		PartitionRows: s.PartitionRows, PartitionFanOut: s.PartitionFanOut, PartitionBlock: s.PartitionBlock,
	}
}

// checkInput refuses a schedule input that every run would fail on.
func checkInput(in workflows.Input) error {
	if err := in.CheckSettings(); err != nil {
		return fmt.Errorf("schedule %s: %w", batch.ScheduleID(in.Dataset), err)
	}
	return nil
}

func (s *Spec) defaults() {
	if s.TaskQueue == "" {
		s.TaskQueue = workflows.TaskQueue
	}
	if s.Every == 0 {
		s.Every = DefaultEvery
	}
	if s.CatchupWindow == 0 {
		s.CatchupWindow = DefaultCatchupWindow
	}
	if s.RunTimeout == 0 {
		s.RunTimeout = DefaultRunTimeout
	}
}

// ScheduleSpec is the Temporal spec: Cron or Every.
func (s Spec) ScheduleSpec() client.ScheduleSpec {
	if s.Cron != "" {
		return client.ScheduleSpec{CronExpressions: []string{s.Cron}}
	}
	return client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: s.Every}}}
}

// Action starts BatchMonitoring by type name; Temporal appends the scheduled time to
// the workflow id.
func (s Spec) Action() *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		ID:                 batch.ScheduleID(s.Dataset),
		Workflow:           workflows.WorkflowType,
		Args:               []any{s.Input()},
		TaskQueue:          s.TaskQueue,
		WorkflowRunTimeout: s.RunTimeout,
	}
}

// Create creates the dataset's schedule.
func Create(ctx context.Context, c client.Client, s Spec) (client.ScheduleHandle, error) {
	if err := batch.ValidateDatasetName(s.Dataset); err != nil {
		return nil, err
	}
	if err := checkInput(s.Input()); err != nil {
		return nil, err
	}
	s.defaults()
	h, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:            batch.ScheduleID(s.Dataset),
		Spec:          s.ScheduleSpec(),
		Action:        s.Action(),
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: s.CatchupWindow,
		Paused:        s.Paused,
		Note:          s.Note,
	})
	if err != nil {
		return nil, fmt.Errorf("create schedule %s: %w", batch.ScheduleID(s.Dataset), err)
	}
	return h, nil
}

// Change lists what Update changes; nil fields stay as they are.
type Change struct {
	Every         *time.Duration
	Cron          *string
	CatchupWindow *time.Duration
	RunTimeout    *time.Duration
	Reference     *string
	Targets       *string
	// The runs' settings (Spec's fields of the same names).
	PartitionRows, PartitionFanOut, PartitionBlock *int
	AllowedLateness                                *string
}

// input reports whether ch changes the runs' input.
func (ch Change) input() bool {
	return ch.Reference != nil || ch.Targets != nil || ch.PartitionRows != nil || ch.PartitionFanOut != nil ||
		ch.PartitionBlock != nil || ch.AllowedLateness != nil
}

// Update changes the dataset's schedule in place (Temporal's DoUpdate: read, modify,
// write, retried on conflict). The overlap policy stays SKIP.
func Update(ctx context.Context, c client.Client, dataset string, ch Change) error {
	h := c.ScheduleClient().GetHandle(ctx, batch.ScheduleID(dataset))
	err := h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		switch {
		case ch.Cron != nil && *ch.Cron != "":
			s.Spec = &client.ScheduleSpec{CronExpressions: []string{*ch.Cron}}
		case ch.Every != nil:
			s.Spec = &client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: *ch.Every}}}
		}
		if s.Policy == nil {
			s.Policy = &client.SchedulePolicies{}
		}
		s.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
		if ch.CatchupWindow != nil {
			s.Policy.CatchupWindow = *ch.CatchupWindow
		}
		if ch.input() || ch.RunTimeout != nil {
			wa, ok := s.Action.(*client.ScheduleWorkflowAction)
			if !ok {
				return nil, errors.New("schedule action is not a workflow start")
			}
			in, err := ActionInput(wa)
			if err != nil {
				return nil, err
			}
			if ch.Reference != nil {
				in.Reference = *ch.Reference
			}
			if ch.Targets != nil {
				in.Targets = *ch.Targets
			}
			if ch.PartitionRows != nil {
				in.PartitionRows = *ch.PartitionRows
			}
			if ch.PartitionFanOut != nil {
				in.PartitionFanOut = *ch.PartitionFanOut
			}
			if ch.PartitionBlock != nil {
				in.PartitionBlock = *ch.PartitionBlock
			}
			if ch.AllowedLateness != nil {
				in.AllowedLateness = *ch.AllowedLateness
			}
			if err := checkInput(in); err != nil {
				return nil, err
			}
			wa.Args = []any{in}
			if ch.RunTimeout != nil {
				wa.WorkflowRunTimeout = *ch.RunTimeout
			}
			s.Action = wa
		}
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}})
	if err != nil {
		return fmt.Errorf("update schedule %s: %w", batch.ScheduleID(dataset), err)
	}
	return nil
}

// Overlaps maps the CLI's overlap policy names to Temporal's.
var Overlaps = map[string]enumspb.ScheduleOverlapPolicy{
	"skip":            enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	"buffer_one":      enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
	"buffer_all":      enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL,
	"cancel_other":    enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER,
	"terminate_other": enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER,
	"allow_all":       enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
}

// ParseOverlap reads an overlap policy name of Overlaps.
func ParseOverlap(name string) (enumspb.ScheduleOverlapPolicy, error) {
	p, ok := Overlaps[strings.ToLower(name)]
	if !ok {
		return 0, fmt.Errorf("overlap policy %q: want skip, buffer_one, buffer_all, cancel_other, terminate_other or allow_all", name)
	}
	return p, nil
}

// Trigger starts a run now with an explicit overlap policy (BUFFER_ONE: after the
// running one, so that windows stay consecutive).
func Trigger(ctx context.Context, c client.Client, dataset string, overlap enumspb.ScheduleOverlapPolicy) error {
	h := c.ScheduleClient().GetHandle(ctx, batch.ScheduleID(dataset))
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: overlap}); err != nil {
		return fmt.Errorf("trigger schedule %s: %w", batch.ScheduleID(dataset), err)
	}
	return nil
}

// ActionInput decodes the workflow input of a schedule's action.
func ActionInput(wa *client.ScheduleWorkflowAction) (workflows.Input, error) {
	var in workflows.Input
	if wa == nil || len(wa.Args) == 0 {
		return in, errors.New("schedule action has no input")
	}
	switch v := wa.Args[0].(type) {
	case workflows.Input:
		return v, nil
	case *commonpb.Payload:
		if err := converter.GetDefaultDataConverter().FromPayload(v, &in); err != nil {
			return in, fmt.Errorf("decode schedule input: %w", err)
		}
		return in, nil
	}
	return in, fmt.Errorf("schedule action input of type %T", wa.Args[0])
}

// Recent is one action the schedule took.
type Recent struct {
	ScheduledAt time.Time `json:"scheduled_at"`
	StartedAt   time.Time `json:"started_at"`
	WorkflowID  string    `json:"workflow_id,omitempty"`
	RunID       string    `json:"run_id,omitempty"`
}

// View is what describe shows of a schedule.
type View struct {
	ID            string          `json:"id"`
	Paused        bool            `json:"paused"`
	Note          string          `json:"note,omitempty"`
	Intervals     []string        `json:"intervals,omitempty"`
	Calendars     int             `json:"calendars,omitempty"`
	Overlap       string          `json:"overlap"`
	CatchupWindow string          `json:"catchup_window"`
	Input         workflows.Input `json:"input"`
	NextRuns      []time.Time     `json:"next_runs"`
	Recent        []Recent        `json:"recent_runs"`
	Running       []string        `json:"running"`
	Actions       int             `json:"actions"`
	SkippedOver   int             `json:"skipped_overlap"`
	MissedCatchup int             `json:"missed_catchup_window"`
}

// Describe reads the dataset's schedule.
func Describe(ctx context.Context, c client.Client, dataset string) (*View, error) {
	id := batch.ScheduleID(dataset)
	d, err := c.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	if err != nil {
		return nil, fmt.Errorf("describe schedule %s: %w", id, err)
	}
	v := &View{ID: id, Actions: d.Info.NumActions, SkippedOver: d.Info.NumActionsSkippedOverlap, MissedCatchup: d.Info.NumActionsMissedCatchupWindow}
	if wa, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction); ok {
		v.Input, _ = ActionInput(wa)
	}
	if st := d.Schedule.State; st != nil {
		v.Paused, v.Note = st.Paused, st.Note
	}
	if sp := d.Schedule.Spec; sp != nil {
		for _, iv := range sp.Intervals {
			v.Intervals = append(v.Intervals, iv.Every.String())
		}
		v.Calendars = len(sp.Calendars) + len(sp.CronExpressions)
	}
	if p := d.Schedule.Policy; p != nil {
		v.Overlap = strings.ToLower(strings.TrimPrefix(p.Overlap.String(), "SCHEDULE_OVERLAP_POLICY_"))
		v.CatchupWindow = p.CatchupWindow.String()
	}
	for _, t := range d.Info.NextActionTimes {
		v.NextRuns = append(v.NextRuns, t.UTC())
	}
	for _, r := range d.Info.RecentActions {
		rr := Recent{ScheduledAt: r.ScheduleTime.UTC(), StartedAt: r.ActualTime.UTC()}
		if r.StartWorkflowResult != nil {
			rr.WorkflowID, rr.RunID = r.StartWorkflowResult.WorkflowID, r.StartWorkflowResult.FirstExecutionRunID
		}
		v.Recent = append(v.Recent, rr)
	}
	for _, r := range d.Info.RunningWorkflows {
		v.Running = append(v.Running, r.WorkflowID)
	}
	return v, nil
}

// ListEntry is one batch-monitoring schedule of List.
type ListEntry struct {
	ID       string     `json:"id"`
	Paused   bool       `json:"paused"`
	Next     *time.Time `json:"next,omitempty"`
	Recent   int        `json:"recent_runs"`
	Workflow string     `json:"workflow"`
}

// List lists the schedules that start BatchMonitoring.
func List(ctx context.Context, c client.Client) ([]ListEntry, error) {
	it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 100})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	var out []ListEntry
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		if e.WorkflowType.Name != workflows.WorkflowType {
			continue
		}
		le := ListEntry{ID: e.ID, Paused: e.Paused, Recent: len(e.RecentActions), Workflow: e.WorkflowType.Name}
		if len(e.NextActionTimes) > 0 {
			t := e.NextActionTimes[0].UTC()
			le.Next = &t
		}
		out = append(out, le)
	}
	return out, nil
}

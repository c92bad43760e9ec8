package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/serve"
	"github.com/modelmon/modelmon/internal/taxi"
)

// runBare serves the bare-handler ceiling of --bare on the service's address: POST
// /predict decodes the ride with encoding/json, predicts with the same model and
// answers {"id","duration","model_version"}, with no validation beyond the JSON, no
// log, no metrics and no router. It is not the service.
func runBare(ctx context.Context, f serve.Flags, log *slog.Logger) error {
	m, err := model.Load(f.Options.ModelPath)
	if err != nil {
		return err
	}
	type ride struct {
		ID           string  `json:"id"`
		PULocationID int64   `json:"PULocationID"`
		DOLocationID int64   `json:"DOLocationID"`
		TripDistance float64 `json:"trip_distance"`
	}
	type answer struct {
		ID           string  `json:"id"`
		Duration     float64 `json:"duration"`
		ModelVersion string  `json:"model_version"`
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /predict", func(w http.ResponseWriter, r *http.Request) {
		var in ride
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, `{"error":"bad JSON"}`, http.StatusBadRequest)
			return
		}
		if in.ID == "" {
			in.ID = uuid.NewString()
		}
		b, _ := json.Marshal(answer{ID: in.ID, Duration: m.Predict(taxi.PUDO(in.PULocationID, in.DOLocationID), []float64{in.TripDistance}), ModelVersion: m.Version})
		b = append(b, '\n')
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	})
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", f.Options.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", f.Options.Addr, err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Warn("BENCHMARK CEILING --bare: a bare JSON handler, not the service (no validation, no log, no metrics)", "addr", ln.Addr().String(), "model_version", m.Version)
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-done:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

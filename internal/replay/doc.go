// Package replay posts TLC rides to the online service's /predict and records their true durations as targets, as the seed's send_data.py did.
package replay

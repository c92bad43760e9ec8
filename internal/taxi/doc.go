// Package taxi reads NYC TLC green-taxi trip records and builds the trip-duration model's features.
package taxi

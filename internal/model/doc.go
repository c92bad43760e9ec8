// Package model fits, saves, loads and applies the ordinary-least-squares linear model over one one-hot categorical feature plus numerical features.
package model

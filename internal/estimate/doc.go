// Package estimate estimates a regression model's RMSE, MAE and ME on data without targets by Direct Loss Estimation: gradient-boosted "nanny" trees, trained on a labelled reference, predict each prediction's loss.
package estimate

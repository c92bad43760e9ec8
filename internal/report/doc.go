// Package report computes a monitoring report (data drift, regression performance, data quality) of a current dataset against a reference; the batch workflow, the offline `starter report` command and the HTML report share it.
package report

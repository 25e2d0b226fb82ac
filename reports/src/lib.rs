//! Metric aggregation and report output for dsim runs.

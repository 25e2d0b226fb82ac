//! dsim benchmark helpers shared by the criterion benches and `dsim bench`.

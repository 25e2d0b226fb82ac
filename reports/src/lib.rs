//! reports: what people look at after a run: plots now; metric aggregation, sequence
//! charts and the HTML report as later issues add them.

pub mod bar;
pub mod plot;

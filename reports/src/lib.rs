//! reports: what people look at after a run: line and bar charts, message sequence
//! charts of a trace window, and the self-contained HTML report page.

#![warn(missing_docs)]

pub mod bar;
pub mod html;
pub mod plot;
pub mod sequence;

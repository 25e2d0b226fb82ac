//! Sans-IO protocol cores and the systems dsim hosts.

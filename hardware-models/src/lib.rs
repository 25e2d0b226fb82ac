//! Devices and links as sourced parameter sets (see issue 3).

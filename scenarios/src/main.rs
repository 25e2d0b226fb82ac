//! The `dsim` binary: the command line of [`dsim::cli`] with dsim's own registry, the
//! same path a user's binary takes with theirs.

/// Running out of memory is an error with exit status 3, not an abort.
#[global_allocator]
static ALLOCATOR: dsim::cli::ReportingAllocator = dsim::cli::ReportingAllocator;

fn main() -> std::process::ExitCode {
    dsim::cli::main(&scenarios::registry())
}

//! The `dsim` binary: the command line of [`dsim::cli`] with dsim's own registry, the
//! same path a user's binary takes with theirs.

fn main() -> std::process::ExitCode {
    dsim::cli::main(&scenarios::registry())
}

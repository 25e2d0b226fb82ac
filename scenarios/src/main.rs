//! The `dsim` binary; everything lives in [`scenarios::cli`].

fn main() -> std::process::ExitCode {
    scenarios::cli::main()
}

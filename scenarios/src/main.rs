//! The `dsim` binary; everything lives in [`scenarios::cli`].

use std::panic::{self, PanicHookInfo};

fn main() -> std::process::ExitCode {
    quiet_on_closed_stdout();
    scenarios::cli::main()
}

/// When the reader of stdout goes away (`dsim list | head -1`), `println!` panics on the
/// broken pipe; end quietly with status 0 instead, as `cat` and `rg` do. Every other
/// panic is reported as usual.
fn quiet_on_closed_stdout() {
    let report = panic::take_hook();
    panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        report(info);
    }));
}

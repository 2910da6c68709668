//! Arbitrary bytes into the syntax check (the walk with `run` off): it must return Ok or a
//! recorded syntax error, never panic, and every error must have a message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelcar_base::interpreter::Shell;

fuzz_target!(|data: &[u8]| {
    Shell::with_script(data, 1, |shell| {
        shell.check_only();
        if shell.check_and_run().is_err() {
            let error = shell.syntax_error().expect("a failed walk records its error");
            assert!(error.pieces().iter().any(|p| !p.is_empty()));
        }
    });
});

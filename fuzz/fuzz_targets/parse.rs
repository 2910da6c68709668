//! Arbitrary bytes into the syntax check (the walk with `run` off): it must return Ok or a
//! recorded syntax error, never panic, and every error must have a message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelcar_base::exec::Shell;
use modelcar_base::lexer::join_lines;
use modelcar_base::sys::Stack;

fuzz_target!(|data: &[u8]| {
    let mut text = Stack::default();
    let mut shell = Shell::new(b"sh", join_lines(data, &mut text), 1);
    shell.run = false;
    if shell.run_script().is_err() {
        let error = shell.error.expect("a failed walk records its error");
        assert!(error.pieces().iter().any(|p| !p.is_empty()));
    }
});

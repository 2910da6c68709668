//! Arbitrary bytes into the parser: it must return Ok or a SyntaxError, never panic, and
//! every error must have a message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = modelcar_base::parser::parse_script(data) {
        let _ = e.message();
    }
});

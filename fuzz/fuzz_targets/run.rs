//! Runs arbitrary bytes as a script, skipping the scripts that could touch the filesystem or
//! sleep, with standard output captured so nothing is printed. It must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelcar_base::interpreter::Shell;

/// Command names with side effects. A plain substring test is not enough: quoting and `$(...)`
/// can build a name from separate bytes (`l\n`, `'l'n`, `$(echo l)n`). Without loops every
/// source byte reaches a command name at most once and in source order, so skipping inputs in
/// which the name is a *subsequence* is sound.
const SIDE_EFFECTS: &[&[u8]] = &[b"ln", b"mkdir", b"sleep"];

/// Loops are skipped too: `while true; do true; done` never ends (and a loop could repeat bytes,
/// which would break the subsequence argument). Reserved words are only recognised when written
/// plainly, so a substring test suffices for them.
const LOOPS: &[&[u8]] = &[b"while", b"until"];

fn is_subsequence(haystack: &[u8], needle: &[u8]) -> bool {
    let mut rest = needle;
    for &b in haystack {
        match rest.split_first() {
            Some((&first, tail)) if first == b => rest = tail,
            Some(_) => {}
            None => break,
        }
    }
    rest.is_empty()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fuzz_target!(|data: &[u8]| {
    if SIDE_EFFECTS.iter().any(|s| is_subsequence(data, s))
        || LOOPS.iter().any(|s| contains(data, s))
    {
        return;
    }
    Shell::with_script(data, 1, |shell| {
        shell.capture_output();
        let _ = shell.check_and_run();
    });
});

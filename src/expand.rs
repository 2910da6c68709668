//! Word expansion: `$$`, `$(...)`, quote removal and field splitting of unquoted results.

use crate::exec::{Flow, Shell};
use crate::parser::{Part, Word};
use alloc::vec::Vec;

fn is_ifs(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n')
}

/// Expands `words` into fields. Also returns the status of the last `$(...)`, which is the
/// command's status when no fields remain (POSIX).
pub fn expand_words(sh: &mut Shell, words: &[Word]) -> Result<(Vec<Vec<u8>>, Option<i32>), Flow> {
    let mut fields = Vec::new();
    let mut last_subst = None;
    for word in words {
        let mut field = Vec::new();
        // A field exists once literal text or quotes were seen, even if it is empty ("").
        let mut exists = false;
        for part in &word.0 {
            match part {
                Part::Lit(bytes, quoted) => {
                    field.extend_from_slice(bytes);
                    exists |= *quoted || !bytes.is_empty();
                }
                Part::Pid(_) => {
                    push_decimal(&mut field, sh.pid as u64);
                    exists = true;
                }
                Part::Subst(list, quoted) => {
                    let (mut out, status) = sh.capture(list);
                    last_subst = Some(status);
                    while out.last() == Some(&b'\n') {
                        out.pop();
                    }
                    if *quoted {
                        field.extend_from_slice(&out);
                        exists = true;
                        continue;
                    }
                    if let Some(&g) = out.iter().find(|b| matches!(b, b'*' | b'?' | b'[')) {
                        // Pathname expansion of the result would need globbing: refuse, never guess.
                        return Err(sh.expansion_error(&out, g));
                    }
                    for &b in &out {
                        if is_ifs(b) {
                            if exists {
                                fields.push(core::mem::take(&mut field));
                                exists = false;
                            }
                        } else {
                            field.push(b);
                            exists = true;
                        }
                    }
                }
            }
        }
        if exists {
            fields.push(field);
        }
    }
    Ok((fields, last_subst))
}

pub fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

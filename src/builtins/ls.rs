//! `ls [-1Aa] [FILE...]`: names, one per line, sorted bytewise (the C locale), like busybox ls
//! writing to a pipe. Files named on the command line come first, then each directory's
//! entries (under a `DIR:` header when more than one operand was given).

use super::options;
use crate::output::{error_line, perror, Output};
use crate::sys;
use alloc::vec::Vec;

pub fn run(args: &[Vec<u8>], out: &mut Output) -> i32 {
    let Some(opts) = options::parse(b"ls", args, b"1Aa", None) else {
        return 1;
    };
    let (all, almost_all) = (opts.has(b'a'), opts.has(b'A'));
    let dot = [b".".to_vec()];
    let operands = if opts.operands.is_empty() {
        &dot[..]
    } else {
        opts.operands
    };

    let mut status = 0;
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for op in operands {
        match sys::stat(op, true).or_else(|_| sys::stat(op, false)) {
            Ok(st) if st.is_dir() => dirs.push(op.as_slice()),
            Ok(_) => files.push(op.as_slice()),
            Err(e) => {
                perror(b"ls", op, e);
                status = 1;
            }
        }
    }
    sort(&mut files);
    sort(&mut dirs);

    let mut text = Vec::new();
    for f in &files {
        text.extend_from_slice(f);
        text.push(b'\n');
    }
    let headers = operands.len() > 1;
    for (i, dir) in dirs.iter().enumerate() {
        let mut names = match sys::read_dir(dir) {
            Ok(names) => names,
            Err(e) => {
                perror(b"ls", dir, e);
                status = 1;
                continue;
            }
        };
        if all {
            names.push(b".".to_vec());
            names.push(b"..".to_vec());
        } else if !almost_all {
            names.retain(|n| !n.starts_with(b"."));
        }
        sort(&mut names);
        if headers {
            if i > 0 || !files.is_empty() {
                text.push(b'\n');
            }
            text.extend_from_slice(dir);
            text.extend_from_slice(b":\n");
        }
        for n in &names {
            text.extend_from_slice(n);
            text.push(b'\n');
        }
    }
    if let Err(e) = out.write(&text) {
        error_line(&[
            b"ls: write error: ",
            crate::errors::errno_text(e).as_bytes(),
        ]);
        return 1;
    }
    status
}

/// Insertion sort: directories in a modelcar hold a handful of names, and core's sort
/// routines would double the binary's size.
fn sort<T: AsRef<[u8]>>(items: &mut [T]) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && items[j - 1].as_ref() > items[j].as_ref() {
            items.swap(j - 1, j);
            j -= 1;
        }
    }
}

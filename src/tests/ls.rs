use super::*;
use crate::testutil::{run_builtin, TempDir};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;

/// (status, output as text).
fn ls<T: AsRef<[u8]>>(list: &[T]) -> (i32, String) {
    let (status, out) = run_builtin(run, list, false);
    (status, String::from_utf8(out).unwrap())
}

/// A directory holding `files` (empty files) and `dirs`.
fn tree(name: &str, files: &[&str], dirs: &[&str]) -> TempDir {
    let t = TempDir::new(name);
    for f in files {
        fs::write(t.path(f), b"").unwrap();
    }
    for d in dirs {
        fs::create_dir(t.path(d)).unwrap();
    }
    t
}

fn root(t: &TempDir) -> String {
    t.root().to_str().unwrap().to_string()
}

#[test]
fn one_directory_one_name_a_line_without_hidden_names() {
    let t = tree("plain", &["b", ".hidden", "a"], &["c", ".git"]);
    assert_eq!(
        ls(&[t.root().as_os_str().as_bytes()]),
        (0, "a\nb\nc\n".into())
    );
    // -1 changes nothing: the output is always one name a line.
    assert_eq!(
        ls(&[b"-1", t.root().as_os_str().as_bytes()]),
        (0, "a\nb\nc\n".into())
    );
    // An empty directory lists nothing.
    let e = TempDir::new("empty");
    assert_eq!(ls(&[root(&e)]), (0, "".into()));
}

#[test]
fn dash_capital_a_shows_hidden_names_but_not_dot_and_dot_dot() {
    let t = tree("almost-all", &["b", ".hidden", "a"], &[".git"]);
    let r = root(&t);
    assert_eq!(ls(&["-A", &r]), (0, ".git\n.hidden\na\nb\n".into()));
    assert_eq!(ls(&["-1A", &r]), (0, ".git\n.hidden\na\nb\n".into()));
    // Only hidden names.
    let h = tree("only-hidden", &[".x"], &[]);
    assert_eq!(ls(&[root(&h)]), (0, "".into()));
    assert_eq!(ls(&["-A", &root(&h)]), (0, ".x\n".into()));
}

#[test]
fn dash_a_shows_everything() {
    let t = tree("all", &["b", ".hidden", "a"], &[".git"]);
    let r = root(&t);
    assert_eq!(ls(&["-a", &r]), (0, ".\n..\n.git\n.hidden\na\nb\n".into()));
    // -a wins over -A, in either order (busybox ORs the two).
    assert_eq!(ls(&["-aA", &r]), (0, ".\n..\n.git\n.hidden\na\nb\n".into()));
    assert_eq!(
        ls(&["-A", "-a", &r]),
        (0, ".\n..\n.git\n.hidden\na\nb\n".into())
    );
    let e = TempDir::new("all-empty");
    assert_eq!(ls(&["-a", &root(&e)]), (0, ".\n..\n".into()));
}

#[test]
fn sorted_bytewise() {
    let t = tree(
        "sorted",
        &["b", "B", "a.b", "ab", "a", "10", "9", "_", "-x", "~", "a b"],
        &["Z", "z"],
    );
    fs::write(t.root().join(OsStr::from_bytes(b"\xc3\xa9")), b"").unwrap();
    fs::write(t.root().join(OsStr::from_bytes(b"\xff")), b"").unwrap();
    let (status, out) = run_builtin(run, &[root(&t)], false);
    assert_eq!(status, 0);
    // Sorted by their bytes; written with `?` for each byte outside printable ASCII.
    assert_eq!(
        out,
        b"-x\n10\n9\nB\nZ\n_\na\na b\na.b\nab\nb\nz\n~\n??\n?\n"
    );
}

#[test]
fn non_printable_bytes_are_question_marks() {
    // busybox in the C locale (found by the differential: ours wrote them raw).
    let t = tree("unprintable", &[], &[]);
    for name in [
        &b"a\x01b"[..],
        b"t\tb",
        b"n\nl",
        b"d\x7f",
        b"\x1b[2J",
        b" ~",
    ] {
        fs::write(t.root().join(OsStr::from_bytes(name)), b"").unwrap();
    }
    let (status, out) = run_builtin(run, &[root(&t)], false);
    assert_eq!(status, 0);
    assert_eq!(out, b"?[2J\n ~\na?b\nd?\nn?l\nt?b\n");
    // A file operand too.
    let f = t.root().join(OsStr::from_bytes(b"a\x01b"));
    let (_, out) = run_builtin(run, &[f.as_os_str().as_bytes()], false);
    assert!(out.ends_with(b"/a?b\n"), "{out:?}");
}

#[test]
fn many_entries_need_several_reads() {
    // Far more than one 4 KiB getdents buffer holds.
    let names: Vec<String> = (0..400)
        .map(|i| format!("model-shard-{i:05}-of-00400.safetensors"))
        .collect();
    let t = TempDir::new("many");
    for n in names.iter().rev() {
        fs::write(t.path(n), b"").unwrap();
    }
    let want: String = names.iter().map(|n| format!("{n}\n")).collect();
    assert_eq!(ls(&[root(&t)]), (0, want));
}

#[test]
fn thousands_of_names_in_any_order_come_out_sorted() {
    // The sort is not a quadratic one (KServe's prefetch check lists the whole model); this
    // checks its order on a large, shuffled directory.
    let mut names: Vec<String> = (0..3000)
        .map(|i| format!("{:x}-{i}", (i * 7919) % 3001))
        .collect();
    let t = TempDir::new("thousands");
    for n in &names {
        fs::write(t.path(n), b"").unwrap();
    }
    names.sort();
    let want: String = names.iter().map(|n| format!("{n}\n")).collect();
    assert_eq!(ls(&[root(&t)]), (0, want));
}

#[test]
fn a_file_operand_is_printed_as_given() {
    let t = tree("file", &["f"], &["d"]);
    let r = root(&t);
    assert_eq!(ls(&[format!("{r}/f")]), (0, format!("{r}/f\n")));
    assert_eq!(ls(&["-A", &format!("{r}/f")]), (0, format!("{r}/f\n")));
    // Even one that starts with a dot (tests run in the package's folder).
    assert_eq!(ls(&["./Cargo.toml"]), (0, "./Cargo.toml\n".into()));
    // A directory's path is not printed, only its entries (none here).
    assert_eq!(ls(&[format!("{r}/d")]), (0, "".into()));
    assert_eq!(ls(&[format!("{r}/d/")]), (0, "".into()));
}

#[test]
fn two_or_more_operands_are_refused_before_anything_is_listed() {
    let t = tree("operands", &["f1", "f2"], &["d1", "d2"]);
    fs::write(t.path("d1/x"), b"").unwrap();
    let r = root(&t);
    let p = |n: &str| format!("{r}/{n}");
    // Whatever the operands are: files, directories, repeated, missing.
    assert_eq!(ls(&[p("f1"), p("f2")]), (1, "".into()));
    assert_eq!(ls(&[p("d1"), p("d2")]), (1, "".into()));
    assert_eq!(ls(&[p("d1"), p("d1")]), (1, "".into()));
    assert_eq!(ls(&[p("d1"), p("nope")]), (1, "".into()));
    assert_eq!(ls(&[p("f1"), p("d1"), p("f2")]), (1, "".into()));
    assert_eq!(ls(&["-1A", &p("d1"), &p("d2")]), (1, "".into()));
    assert_eq!(ls(&["--", &p("d1"), &p("d2")]), (1, "".into()));
    // An empty operand counts.
    assert_eq!(ls(&[p("d1").as_str(), ""]), (1, "".into()));
}

#[test]
fn symlinks_as_operands() {
    let t = tree("links", &["file"], &["dir"]);
    fs::write(t.path("dir/inside"), b"").unwrap();
    std::os::unix::fs::symlink(t.path("dir"), t.path("to-dir")).unwrap();
    std::os::unix::fs::symlink(t.path("file"), t.path("to-file")).unwrap();
    std::os::unix::fs::symlink(t.path("missing"), t.path("dangling")).unwrap();
    std::os::unix::fs::symlink(t.path("loop"), t.path("loop")).unwrap();
    let r = root(&t);
    // A link to a directory is followed, a link to a file is a name to print; a dangling link
    // or a loop is an error, as in busybox.
    assert_eq!(ls(&[format!("{r}/to-dir")]), (0, "inside\n".into()));
    assert_eq!(ls(&[format!("{r}/to-file")]), (0, format!("{r}/to-file\n")));
    for link in ["dangling", "loop"] {
        assert_eq!(ls(&[format!("{r}/{link}")]), (1, "".into()));
    }
    // Inside a directory, links are names like any other.
    assert_eq!(
        ls(&[&r]),
        (0, "dangling\ndir\nfile\nloop\nto-dir\nto-file\n".into())
    );
}

#[test]
fn a_missing_operand_is_status_1() {
    let t = tree("missing", &["f"], &[]);
    let r = root(&t);
    assert_eq!(ls(&[format!("{r}/nope")]), (1, "".into()));
    assert_eq!(ls(&["-a", &format!("{r}/nope/x")]), (1, "".into()));
    assert_eq!(ls(&[""]), (1, "".into()));
    // A trailing slash on a file: not a directory.
    assert_eq!(ls(&[format!("{r}/f/")]), (1, "".into()));
}

#[test]
fn options() {
    let t = tree("options", &["a", ".h"], &[]);
    let r = root(&t);
    // Unknown options are refused before anything is listed, and before the operands count.
    assert_eq!(ls(&["-l", &r]), (1, "".into()));
    assert_eq!(ls(&["-1x", &r]), (1, "".into()));
    assert_eq!(ls(&["-l", &r, &r]), (1, "".into()));
    // `--` ends the options.
    assert_eq!(ls(&["-A", "--", &r]), (0, ".h\na\n".into()));
    let dash = t.path("-d");
    fs::create_dir(&dash).unwrap();
    fs::write(dash.join("in"), b"").unwrap();
    assert_eq!(ls(&["--", &format!("{r}/-d")]), (0, "in\n".into()));
}

/// The names in `dir` as `ls` (or with `-A`) shows them, computed with std.
fn expected(dir: &str, hidden: bool) -> String {
    let mut names: Vec<Vec<u8>> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().as_bytes().to_vec())
        .filter(|n| hidden || !n.starts_with(b"."))
        .collect();
    names.sort();
    names
        .iter()
        .map(|n| format!("{}\n", String::from_utf8_lossy(n)))
        .collect()
}

#[test]
fn no_operand_lists_the_current_directory() {
    // Tests run in parallel threads: the current directory is not changed here, only read (it
    // is the package's root under cargo test).
    let (status, out) = ls::<&str>(&[]);
    assert_eq!(status, 0);
    assert_eq!(out, expected(".", false));
    assert!(!out.is_empty());
    assert_eq!(ls(&["."]), (0, out));
    let (status, out) = ls(&["-A"]);
    assert_eq!((status, out.clone()), (0, expected(".", true)));
    let (status, all) = ls(&["-a"]);
    assert_eq!((status, all), (0, format!(".\n..\n{out}")));
}

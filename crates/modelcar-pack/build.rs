//! Embeds the four static sidecar binaries (the base image's only file) in modelcar-pack.
//! They come from `$MODELCAR_DIST/<arch>/modelcar-base` (default: <workspace>/dist), as
//! written by scripts/build-sidecar.sh. Where there are none (a fresh clone, `cargo install`),
//! the tool is built without them: it then needs `--base`, and says so in one line. A dist
//! folder that is incomplete or holds a binary for the wrong architecture stops the build
//! with one line naming the file.

use std::path::{Path, PathBuf};

const ARCHES: [(&str, u16); 4] = [
    ("amd64", 62),
    ("arm64", 183),
    ("ppc64le", 21),
    ("s390x", 22),
];

fn main() {
    println!("cargo::rerun-if-env-changed=MODELCAR_DIST");
    println!("cargo::rerun-if-env-changed=MODELCAR_ALLOW_FOREIGN_DIST");
    let Some(manifest) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else {
        fail("CARGO_MANIFEST_DIR is not set (run through cargo)")
    };
    let Some(out_dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        fail("OUT_DIR is not set (run through cargo)")
    };
    let workspace = manifest
        .parent()
        .and_then(Path::parent)
        .unwrap_or(&manifest);
    let dist = std::env::var_os("MODELCAR_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("dist"));
    let allow_foreign = std::env::var_os("MODELCAR_ALLOW_FOREIGN_DIST").is_some();
    // A folder is watched as a whole: the sidecars appearing or changing rebuild the tool.
    println!("cargo::rerun-if-changed={}", dist.display());

    let bins: Vec<(&str, u16, PathBuf)> = ARCHES
        .iter()
        .map(|&(arch, machine)| (arch, machine, dist.join(arch).join("modelcar-base")))
        .collect();
    let present: Vec<bool> = bins.iter().map(|(_, _, p)| p.is_file()).collect();
    let mut code = String::from(
        "/// (arch, sidecar binary) for every platform of the embedded base; empty when the\n\
         /// tool was built without the sidecars.\n\
         pub static SIDECARS: &[(&str, &[u8])] = &[\n",
    );
    if present.iter().all(|p| !p) {
        println!(
            "cargo::warning=no sidecar binaries in {} (run scripts/build-sidecar.sh): this modelcar-pack will need --base",
            dist.display()
        );
    } else {
        for (arch, machine, bin) in &bins {
            check(arch, *machine, bin, allow_foreign);
            let abs = std::fs::canonicalize(bin)
                .unwrap_or_else(|e| fail(&format!("{}: {e}", bin.display())));
            code.push_str(&format!(
                "    ({arch:?}, include_bytes!({:?})),\n",
                abs.display().to_string()
            ));
        }
    }
    code.push_str("];\n");
    let out = out_dir.join("sidecars.rs");
    if let Err(e) = std::fs::write(&out, code) {
        fail(&format!("cannot write {}: {e}", out.display()));
    }
}

/// Stops the build unless `bin` is an ELF binary for `arch`.
fn check(arch: &str, machine: u16, bin: &Path, allow_foreign: bool) {
    let bytes = std::fs::read(bin).unwrap_or_else(|e| {
        fail(&format!(
            "{}: {e}; the other sidecars are there, so run scripts/build-sidecar.sh again",
            bin.display()
        ))
    });
    // ELF e_machine (little-endian for all but s390x): catch a binary of the wrong arch.
    let found = if bytes.len() > 20 && &bytes[..4] == b"\x7fELF" {
        if bytes[5] == 2 {
            u16::from_be_bytes([bytes[18], bytes[19]])
        } else {
            u16::from_le_bytes([bytes[18], bytes[19]])
        }
    } else {
        0
    };
    if found != machine && !allow_foreign {
        fail(&format!(
            "{} is not a {arch} ELF binary (e_machine {found}, want {machine}); rebuild it with scripts/build-sidecar.sh (MODELCAR_ALLOW_FOREIGN_DIST=1 allows stand-ins)",
            bin.display()
        ));
    }
}

/// One line for cargo to show; cargo then stops the build (a zero exit keeps it from
/// dumping the script's whole output as well).
fn fail(msg: &str) -> ! {
    println!("cargo::error={msg}");
    std::process::exit(0)
}

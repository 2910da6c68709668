//! Embeds the four static sidecar binaries (the base image's only file) in modelcar-pack.
//! They come from `$MODELCAR_DIST/<arch>/modelcar-base` (default: <workspace>/dist), as
//! written by scripts/build-sidecar.sh.

use std::path::PathBuf;

const ARCHES: [(&str, u16); 4] = [
    ("amd64", 62),
    ("arm64", 183),
    ("ppc64le", 21),
    ("s390x", 22),
];

fn main() {
    println!("cargo:rerun-if-env-changed=MODELCAR_DIST");
    println!("cargo:rerun-if-env-changed=MODELCAR_ALLOW_FOREIGN_DIST");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let dist = std::env::var_os("MODELCAR_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../dist"));
    let allow_foreign = std::env::var_os("MODELCAR_ALLOW_FOREIGN_DIST").is_some();
    let mut code = String::from("/// (arch, sidecar binary) for every platform of the base image.\npub static SIDECARS: [(&str, &[u8]); 4] = [\n");
    for (arch, machine) in ARCHES {
        let bin = dist.join(arch).join("modelcar-base");
        println!("cargo:rerun-if-changed={}", bin.display());
        let bytes = std::fs::read(&bin).unwrap_or_else(|e| {
            panic!(
                "\n\nmodelcar-pack embeds the sidecar binaries, but {} is missing ({e}).\n\
                 Run scripts/build-sidecar.sh first (or set MODELCAR_DIST to its output folder).\n\n",
                bin.display()
            )
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
            panic!(
                "\n\n{} is not a {arch} ELF binary (e_machine {found}, want {machine}).\n\
                 Rebuild with scripts/build-sidecar.sh (set MODELCAR_ALLOW_FOREIGN_DIST=1 only for stand-ins).\n\n",
                bin.display()
            );
        }
        let abs = std::fs::canonicalize(&bin).unwrap();
        code.push_str(&format!(
            "    ({arch:?}, include_bytes!({:?})),\n",
            abs.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("sidecars.rs");
    std::fs::write(out, code).unwrap();
}

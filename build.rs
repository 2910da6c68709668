//! Only tells cargo what it cannot see: scripts/build-sidecar.sh links the sidecar with this
//! script (`-C link-arg=-T...`), so a change to it must relink the binary.
fn main() {
    println!("cargo::rerun-if-changed=scripts/sidecar-link.ld");
}

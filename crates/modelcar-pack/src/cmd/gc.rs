//! `modelcar-pack gc oci:DIR`: removes what killed runs left in a layout (temp files, and
//! blobs they added that no tag uses), waiting until no run writes the layout.

use crate::cli::GcArgs;
use crate::error::{Error, Result};
use crate::layout::LayoutRef;
use crate::lock::{self, Kind};
use crate::run::{self, STATE_DIR};
use std::path::PathBuf;

pub struct Plan {
    dir: PathBuf,
    unreferenced: bool,
    quiet: bool,
}

impl Plan {
    pub fn resolve(a: &GcArgs) -> Result<Plan> {
        let r = LayoutRef::parse(&a.layout, "gc")?;
        if r.tag.is_some() {
            return Err(Error::msg(format!(
                "gc works on a whole layout: give oci:DIR, not {:?}",
                a.layout
            )));
        }
        if !r.dir.join("oci-layout").is_file() {
            return Err(Error::msg(format!(
                "{}: not an OCI image layout (no oci-layout file)",
                r.dir.display()
            )));
        }
        Ok(Plan {
            dir: r.dir,
            unreferenced: a.unreferenced,
            quiet: a.quiet,
        })
    }

    pub fn run(self) -> Result<()> {
        let state = self.dir.join(STATE_DIR);
        if !state.is_dir() {
            std::fs::create_dir(&state)
                .or_else(|e| if state.is_dir() { Ok(()) } else { Err(e) })
                .map_err(|e| Error::msg(format!("cannot create {}: {e}", state.display())))?;
        }
        let lock_path = state.join("lock");
        let (f, _) = lock::open(&lock_path)?;
        lock::wait(
            &f,
            &lock_path,
            Kind::Exclusive,
            "other modelcar-pack runs are writing this layout",
        )?;
        let swept = run::sweep(&self.dir, self.unreferenced)?;
        drop(f);
        if !self.quiet {
            eprintln!(
                "modelcar-pack: gc oci:{}: removed {} file(s), {} bytes",
                self.dir.display(),
                swept.files,
                swept.bytes
            );
        }
        Ok(())
    }
}

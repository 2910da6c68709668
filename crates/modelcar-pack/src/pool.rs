//! Work on a list of items, a few threads at a time, with the results in list order. Used to
//! write and to convert layers, each its own blob.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Runs `work` on every item, `jobs` threads at a time; each thread first makes its own state
/// with `init`. After a failure no new item starts. The results come back in item order; the
/// first error in item order wins, except an interrupt, which wins over any other (it is why
/// the others stopped).
pub fn map_ordered<I, S, T>(
    items: &[I],
    jobs: usize,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &I) -> Result<T> + Sync,
) -> Result<Vec<T>>
where
    I: Sync,
    T: Send,
{
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Vec<Mutex<Option<Result<T>>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            s.spawn(|| {
                let mut state = init();
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = work(&mut state, item);
                    if r.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                }
            });
        }
    });
    let mut out = Vec::new();
    let mut first_err = None;
    for r in results {
        match r.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(Ok(t)) => out.push(t),
            Some(Err(e)) if first_err.is_none() || matches!(e, Error::Interrupted(_)) => {
                first_err = Some(e)
            }
            _ => {}
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

//! The directory source: a filesystem watch (notify, debounced) on the
//! desired-state directory, re-read whole on any event; a polling watcher
//! for network filesystems where events do not arrive.

use std::path::Path;
use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_full::new_debouncer;
use tokio::sync::mpsc;

/// A receiver that yields once per (debounced) burst of changes. The
/// watcher lives as long as the receiver's sender side (a background
/// thread owns it).
pub fn watch_dir(dir: &Path, poll: Option<Duration>) -> anyhow::Result<mpsc::Receiver<()>> {
    let (tx, rx) = mpsc::channel(16);
    let dir = dir.to_path_buf();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<()>>();
    std::thread::Builder::new().name("watch".into()).spawn(move || {
        // Reading the files (every cycle does) raises access events on
        // Linux; only changes count, or each cycle would trigger the next.
        let notify = move |result: notify_debouncer_full::DebounceEventResult| {
            if result.is_ok_and(|events| {
                events
                    .iter()
                    .any(|e| !matches!(e.event.kind, notify::EventKind::Access(_)))
            }) {
                let _ = tx.try_send(());
            }
        };
        let debounce = Duration::from_millis(150);
        let watching: anyhow::Result<Box<dyn std::any::Any>> = match poll {
            None => new_debouncer(debounce, None, notify)
                .map_err(anyhow::Error::from)
                .and_then(|mut d| {
                    d.watch(&dir, RecursiveMode::Recursive)?;
                    Ok(Box::new(d) as Box<dyn std::any::Any>)
                }),
            Some(every) => {
                notify_debouncer_full::new_debouncer_opt::<_, notify::PollWatcher, notify_debouncer_full::NoCache>(
                    debounce,
                    None,
                    notify,
                    notify_debouncer_full::NoCache,
                    notify::Config::default().with_poll_interval(every),
                )
                .map_err(anyhow::Error::from)
                .and_then(|mut d| {
                    d.watch(&dir, RecursiveMode::Recursive)?;
                    Ok(Box::new(d) as Box<dyn std::any::Any>)
                })
            }
        };
        match watching {
            Ok(watcher) => {
                let _ = ready_tx.send(Ok(()));
                // Keep the watcher alive for the life of the process.
                let _keep = watcher;
                loop {
                    std::thread::park();
                }
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
            }
        }
    })?;
    ready_rx
        .recv()
        .map_err(|_| anyhow::anyhow!("the watch thread ended"))??;
    Ok(rx)
}

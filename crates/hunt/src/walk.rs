//! The evidence walk: every regular file under the given paths, hidden ones
//! included, no ignore-file semantics, symlinks not followed.

use std::path::PathBuf;
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};
use seawall_model::ErrorRecord;

/// Files under `paths` in a stable order, and the paths that could not be read.
pub fn walk(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<ErrorRecord>) {
    let files = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    for root in paths {
        if root.is_file() {
            files.lock().unwrap_or_else(|e| e.into_inner()).push(root.clone());
            continue;
        }
        if !root.exists() {
            errors.lock().unwrap_or_else(|e| e.into_inner()).push(ErrorRecord {
                source: root.display().to_string(),
                message: "no such file or directory".into(),
                position: None,
            });
            continue;
        }
        WalkBuilder::new(root).standard_filters(false).hidden(false).follow_links(false).build_parallel().run(|| {
            Box::new(|entry| {
                match entry {
                    Ok(entry) if entry.file_type().is_some_and(|t| t.is_file()) => {
                        files.lock().unwrap_or_else(|e| e.into_inner()).push(entry.into_path());
                    }
                    Ok(_) => {}
                    Err(error) => errors.lock().unwrap_or_else(|e| e.into_inner()).push(ErrorRecord {
                        source: error_path(&error),
                        message: error.to_string(),
                        position: None,
                    }),
                }
                WalkState::Continue
            })
        });
    }
    let mut files = files.into_inner().unwrap_or_else(|e| e.into_inner());
    files.sort();
    files.dedup();
    (files, errors.into_inner().unwrap_or_else(|e| e.into_inner()))
}

fn error_path(error: &ignore::Error) -> String {
    match error {
        ignore::Error::WithPath { path, .. } => path.display().to_string(),
        ignore::Error::WithDepth { err, .. } => error_path(err),
        _ => "walk".into(),
    }
}
